//! `AIO_RS_STATS=1`: per-queue counters, and the report printed at exit (to stderr, or to
//! `AIO_RS_STATS_FILE`). The counters are kept only when asked for (they are atomic RMWs per
//! request); `core` registers the exit report.

use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::sys;

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
    let mut s = format!("aio-rs {} stats (pid {}):\n", env!("CARGO_PKG_VERSION"), sys::getpid());
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

/// Writes the report to `file` (appended; created if missing, never through a symbolic link), or
/// to standard error. If the file cannot be opened, one line on standard error says so and the
/// report follows there.
pub(crate) fn write(text: &str, file: Option<&CStr>) {
    if let Some(path) = file {
        match sys::open_append(path, true) {
            Ok(fd) => {
                let r = sys::write_all(fd, text.as_bytes());
                sys::close(fd);
                if r.is_ok() {
                    return;
                }
            }
            Err(e) => sys::log_line(format_args!(
                "cannot open AIO_RS_STATS_FILE={} ({}): the report follows on standard error",
                path.to_string_lossy(),
                sys::strerror(e)
            )),
        }
    }
    let _ = sys::write_all(2, text.as_bytes());
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
