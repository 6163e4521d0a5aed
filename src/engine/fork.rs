//! fork: `pthread_atfork` handlers hold the init lock across `fork`. The child discards the engine
//! (its threads did not survive; its rings, created with `MADV_DONTFORK`, are not mapped; kernel
//! AIO contexts are not inherited), closes the descriptors it inherited from it, and starts a new
//! engine generation, so the parent's in-flight aiocbs no longer look in flight to it. Its first
//! AIO call starts a fresh engine.

use core::sync::atomic::{AtomicU32, Ordering::AcqRel};

use super::core::{forget_in_child, INIT};
use crate::notify;
use crate::sys;

/// Registers the handlers, once per process (before the first engine starts).
pub(crate) fn register() {
    static DONE: AtomicU32 = AtomicU32::new(0);
    if DONE.swap(1, AcqRel) != 0 {
        return;
    }
    sys::at_fork(prepare, parent, child);
}

extern "C" fn prepare() {
    core::mem::forget(INIT.lock());
}

extern "C" fn parent() {
    // SAFETY: `prepare` took the lock in this thread and forgot its guard.
    unsafe { INIT.force_unlock() };
}

extern "C" fn child() {
    // SAFETY: the child is single-threaded here; `prepare` took the lock before fork and forgot
    // its guard.
    unsafe { INIT.force_unlock() };
    if let Some(old) = forget_in_child() {
        for q in old.started_queues() {
            // SAFETY: the parent's engine is unreachable in the child now that it is forgotten,
            // so nothing uses these inherited descriptors any more.
            unsafe { q.close_inherited() };
        }
    }
    // The duplicates the parent's requests held.
    sys::release_all_inherited();
    notify::after_fork_child();
}
