//! Completion notification: validation of a `struct sigevent` at submission time and
//! exactly-once delivery at completion time, for single requests and for `lio_listio` lists.
//!
//! * `SIGEV_NONE`      – nothing happens.
//! * `SIGEV_SIGNAL`    – `rt_sigqueueinfo` to this process, `si_code = SI_ASYNCIO`.
//! * `SIGEV_THREAD_ID` – `rt_tgsigqueueinfo` to one thread of this process, same `siginfo`.
//! * `SIGEV_THREAD`    – the callback runs on a thread owned by this module.
//!
//! The parts: [`decode`] validates and reads sigevents; [`signal`] sends the two signal kinds;
//! [`dispatch`] carries `SIGEV_THREAD` jobs to the notifier thread, which hands callbacks to
//! [`pool`] (no attributes) or [`attr`] (a thread made with the application's attributes).
//! Everything here is built on `crate::sys` (futexes, the lock-free stack, thread spawn); nothing
//! here knows about requests or the engine. The tests are in `tests/notify.rs`, each case in a
//! process of its own (some fork).
//!
//! [`deliver`] is async-signal-safe: it takes no lock, allocates nothing, creates no thread and
//! preserves `errno`, so it may run inside `aio_suspend`/`aio_error` called from a signal handler.
//!
//! # fork
//!
//! The module holds no lock at any time, only atomics, so [`after_fork_child`] just stores fresh
//! values (async-signal-safe). Every thread of the module remembers the "generation" it was
//! created in; a thread that survives into a child (only possible if a user callback itself calls
//! `fork`) sees a new generation when the callback returns and exits without touching the shared
//! state.

pub(crate) mod attr;
pub(crate) mod decode;
pub(crate) mod dispatch;
pub(crate) mod pool;
pub(crate) mod signal;

use core::time::Duration;

pub(crate) use self::decode::Notify;
pub(crate) use self::dispatch::{ensure_started, ThreadJob};

/// Pool threads (`aio-rs-cb`) for callbacks without attributes started whenever every one is
/// busy; beyond that only after waiting `CAPACITY_WAIT` for one to go idle (see `pool`).
pub(crate) const POOL_CAP: usize = 16;
/// Most pool threads at once (callbacks that block for long make the pool grow up to this).
pub(crate) const POOL_MAX: usize = 64;
/// Maximum number of callback threads created from user attributes alive at once.
pub(crate) const ATTR_CAP: u32 = 16;

/// Safety-net timeout of the waits for capacity (a wake-up is expected long before).
const CAPACITY_WAIT: Duration = Duration::from_millis(100);

/// Delivers `n` exactly once. Async-signal-safe: no locks, no allocation, no thread creation, and
/// `errno` is preserved.
///
/// - `None`: nothing; returns false, `on_done` is not called.
/// - `Signal`: `rt_sigqueueinfo(getpid(), signo, {SI_ASYNCIO, pid, uid, value})`; returns false.
/// - `ThreadId`: `rt_tgsigqueueinfo(getpid(), tid, signo, ...)` with the same siginfo; returns false.
///   (Kernel errors such as EAGAIN for a full real-time signal queue or ESRCH for a thread that
///   exited meanwhile are ignored, as there is nobody to report them to.)
/// - `Thread`: records `n` in `*job`, links the job into the intake list and wakes the notifier;
///   returns true. The notifier calls `on_done(job)` exactly once, on the notifier thread, after
///   copying what it needs out of the job and BEFORE the callback runs (so the caller may reuse
///   its block, or deliver with this job again, from inside `on_done`). `on_done` must not block
///   for long and must not unwind. If [`ensure_started`] was never called (in this process), the
///   job waits in the list until it is.
///
/// # Safety
/// For `Notify::Thread`, `job` must be valid, and not used by another delivery until `on_done`
/// has been called for it (it must outlive that call). For the other kinds `job` is not used and
/// may be NULL.
pub(crate) unsafe fn deliver(n: &Notify, job: *mut ThreadJob, on_done: unsafe fn(*mut ThreadJob)) -> bool {
    match *n {
        Notify::None => false,
        Notify::Signal { signo, value } => {
            signal::send(None, signo, value);
            false
        }
        Notify::ThreadId { signo, value, tid } => {
            signal::send(Some(tid), signo, value);
            false
        }
        Notify::Thread { .. } => {
            // SAFETY: for a Thread notification our caller guarantees `job` is valid and unused by
            // any other delivery until on_done: exactly `submit`'s contract.
            unsafe { dispatch::submit(n, job, on_done) };
            true
        }
    }
}

/// Resets all state in a forked child (called from a pthread_atfork child handler; threads do
/// not survive fork): the intake list empties (pending jobs of the parent are dropped: neither
/// their callbacks nor their on_done run in the child), no notifier thread is considered running,
/// the pool is empty. Async-signal-safe (atomic stores only). No prepare/parent handler is needed:
/// the module never holds a lock.
pub(crate) fn after_fork_child() {
    dispatch::after_fork_child();
    pool::after_fork_child();
    attr::after_fork_child();
}
