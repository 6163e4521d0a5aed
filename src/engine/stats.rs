//! `AIO_RS_STATS=1`: per-queue counters, and the report printed at exit (to stderr, or to
//! `AIO_RS_STATS_FILE`). The counters are kept only when asked for (they are atomic RMWs per
//! request); `core` registers the exit report.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::io::Write;

/// One queue's counters (relaxed).
#[derive(Default)]
pub(crate) struct Stats {
    submitted: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    fallbacks: AtomicU64,
    inflight: AtomicU64,
    peak: AtomicU64,
}

impl Stats {
    pub(crate) fn submitted(&self) {
        self.submitted.fetch_add(1, Relaxed);
        let now = self.inflight.fetch_add(1, Relaxed) + 1;
        if now > self.peak.load(Relaxed) {
            self.peak.store(now, Relaxed);
        }
    }

    pub(crate) fn completed(&self, res: isize) {
        self.completed.fetch_add(1, Relaxed);
        self.inflight.fetch_sub(1, Relaxed);
        if res == -(libc::ECANCELED as isize) {
            self.cancelled.fetch_add(1, Relaxed);
        }
    }

    /// A request its backend would not take went to the workers.
    pub(crate) fn fell_back(&self) {
        self.fallbacks.fetch_add(1, Relaxed);
    }
}

/// The report, as text: one row per started queue (`(index, counters, backends)`).
pub(crate) fn render<'a>(rows: impl Iterator<Item = (usize, &'a Stats, &'a str)>) -> String {
    let mut s = format!("aio-rs {} stats (pid {}):\n", env!("CARGO_PKG_VERSION"), std::process::id());
    s += "queue  submitted  completed  cancelled  fallbacks  peak-in-flight  engine\n";
    for (i, st, why) in rows {
        s += &format!(
            "{:5}  {:9}  {:9}  {:9}  {:9}  {:14}  {}\n",
            i,
            st.submitted.load(Relaxed),
            st.completed.load(Relaxed),
            st.cancelled.load(Relaxed),
            st.fallbacks.load(Relaxed),
            st.peak.load(Relaxed),
            why
        );
    }
    s
}

/// The report when no AIO was used.
pub(crate) const NOTHING: &str = "aio-rs: no AIO used\n";

/// Writes the report where `AIO_RS_STATS_FILE` says, or to stderr.
pub(crate) fn write(text: &str) {
    match std::env::var_os("AIO_RS_STATS_FILE") {
        Some(path) if !path.is_empty() => {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                let _ = f.write_all(text.as_bytes());
            }
        }
        _ => {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let st = Stats::default();
        st.submitted();
        st.submitted();
        st.completed(4096);
        st.completed(-(libc::ECANCELED as isize));
        st.submitted();
        st.fell_back();
        let text = render([(3, &st, "io_uring for every descriptor")].into_iter());
        let row = text.lines().nth(2).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[..6], ["3", "3", "2", "1", "1", "2"], "{text}");
        assert!(row.ends_with("io_uring for every descriptor"));
    }
}
