//! `SIGEV_THREAD` callbacks with application attributes: each runs on a new thread made by
//! `pthread_create(attr)` (named `aio-rs-cb-attr`; detached right after creation if the
//! attributes say joinable). At most `ATTR_CAP` of them are alive at once; beyond that the
//! dispatcher waits for one to finish. If `pthread_create` refuses the attributes (bad attr, no
//! resources), the callback runs on the pool instead: the attributes are then not honoured, but
//! the callback still runs exactly once (glibc would drop it).
//!
//! The `attr` pointer is copied at submission and read at notification time: the application
//! must keep the attribute object alive until the callback has started (as with glibc).

use core::sync::atomic::{AtomicU32, Ordering};

use super::dispatch::generation;
use super::{ATTR_CAP, CAPACITY_WAIT};
use crate::abi::SigVal;
use crate::sys::{self, futex_wait, futex_wake, ThreadAttr};

/// Futex word: number of attribute threads alive (incremented only by the dispatcher).
static ATTR_ALIVE: AtomicU32 = AtomicU32::new(0);

/// A callback and its value, moved to the thread that runs it.
struct Task {
    function: unsafe extern "C" fn(SigVal),
    value: SigVal,
}

// SAFETY: the function pointer and the opaque sigval are plain data that the application handed
// over for exactly this call, on whichever thread runs it.
unsafe impl Send for Task {}

/// Runs the callback on a new thread made with `attr`. Returns false (nothing started) if
/// pthread_create fails. Dispatcher only.
pub(super) fn spawn(
    gen: u32,
    function: unsafe extern "C" fn(SigVal),
    value: SigVal,
    attr: *mut libc::pthread_attr_t,
) -> bool {
    loop {
        let alive = ATTR_ALIVE.load(Ordering::SeqCst);
        if alive < ATTR_CAP {
            break;
        }
        let _ = futex_wait(&ATTR_ALIVE, alive, Some(CAPACITY_WAIT));
    }
    ATTR_ALIVE.fetch_add(1, Ordering::SeqCst);
    let task = Task { function, value };
    // The signal mask is the dispatcher's (all blocked) unless the attributes carry their own
    // (pthread_attr_setsigmask_np), which pthread_create applies.
    let started = sys::spawn("aio-rs-cb-attr", ThreadAttr::User(attr), move || {
        let task = task;
        // SAFETY: the application registered this SIGEV_THREAD callback with this value.
        unsafe { (task.function)(task.value) };
        if generation() == gen {
            ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
            futex_wake(&ATTR_ALIVE, 1);
        }
    });
    if started.is_err() {
        ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// This part's share of `super::after_fork_child`.
pub(super) fn after_fork_child() {
    ATTR_ALIVE.store(0, Ordering::SeqCst);
}
