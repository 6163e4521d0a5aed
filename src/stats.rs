//! `AIO_RS_STATS=1`: per-queue counters printed at exit (to stderr, or to `AIO_RS_STATS_FILE`).

use core::sync::atomic::Ordering::Relaxed;
use std::io::Write;

use crate::engine;

/// Registers the exit report if `AIO_RS_STATS` asks for it (once per process image).
pub fn register_at_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("AIO_RS_STATS").is_some_and(|v| !v.is_empty() && v != "0") {
        ONCE.call_once(|| {
            crate::sys::at_exit(report);
        });
    }
}

/// The report, as text.
pub fn render() -> String {
    let Some(eng) = engine::get() else { return String::from("aio-rs: no AIO used\n") };
    let mut s = format!("aio-rs {} stats (pid {}):\n", env!("CARGO_PKG_VERSION"), std::process::id());
    s += "queue  submitted  completed  cancelled  fallbacks  peak-in-flight  engine\n";
    for i in 0..eng.nqueues() {
        if let Some(q) = eng.queue_if_started(i) {
            let st = &q.stats;
            s += &format!(
                "{:5}  {:9}  {:9}  {:9}  {:9}  {:14}  {}\n",
                i,
                st.submitted.load(Relaxed),
                st.completed.load(Relaxed),
                st.cancelled.load(Relaxed),
                st.fallbacks.load(Relaxed),
                st.peak.load(Relaxed),
                q.why
            );
        }
    }
    s
}

extern "C" fn report() {
    // Called by C's exit machinery: nothing may unwind out of here.
    let _ = std::panic::catch_unwind(|| {
        let text = render();
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
    });
}
