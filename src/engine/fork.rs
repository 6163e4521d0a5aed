//! fork: `pthread_atfork` handlers hold the init lock across `fork`, and close the fork gate
//! (`sys::close_for_fork`, see `src/sys/gate.rs`): no thread is then between making (or giving
//! up) a descriptor of ours and recording that, so the child finds every descriptor it inherited
//! from us where it looks. The child discards the engine (its threads did not survive; its rings,
//! created with `MADV_DONTFORK`, are not mapped; kernel AIO contexts are not inherited), closes
//! the descriptors it inherited from it (the started queues' own, then every claimed number that
//! still names a tagged file of ours, then the held duplicates), and starts a new engine
//! generation, so the parent's in-flight aiocbs no longer look in flight to it. Its first AIO
//! call starts a fresh engine.

use core::sync::atomic::{AtomicU32, Ordering::*};

use super::core::{forget_in_child, INIT};
use crate::notify;
use crate::sys;

/// Registers the handlers, once per process (before the first engine starts). A thread that
/// finds another registering waits until it has: otherwise it could start an engine (make a
/// ring, duplicates) before the handlers exist, and a fork then would close nothing in the child
/// (c-tests/fork_descriptor_churn.c saw the ring of a queue started so, inherited by the child).
/// Called without the init lock (the prepare handler takes it; `pthread_atfork` may wait for a
/// fork under way).
pub(crate) fn register() {
    static STATE: AtomicU32 = AtomicU32::new(0);
    const REGISTERING: u32 = 1;
    const DONE: u32 = 2;
    match STATE.compare_exchange(0, REGISTERING, AcqRel, Acquire) {
        Ok(_) => {
            sys::at_fork(prepare, parent, child);
            STATE.store(DONE, Release);
        }
        Err(_) => {
            while STATE.load(Acquire) != DONE {
                sys::yield_now();
            }
        }
    }
}

extern "C" fn prepare() {
    core::mem::forget(INIT.lock());
    // Then no thread is between making or closing a descriptor of ours and recording it.
    sys::close_for_fork();
}

extern "C" fn parent() {
    sys::open_after_fork();
    // SAFETY: `prepare` took the lock in this thread and forgot its guard.
    unsafe { INIT.force_unlock() };
}

extern "C" fn child() {
    // SAFETY: the child is single-threaded here; `prepare` took the lock before fork and forgot
    // its guard.
    unsafe { INIT.force_unlock() };
    sys::reset_in_child();
    if let Some(old) = forget_in_child() {
        for q in old.started_queues() {
            // SAFETY: the parent's engine is unreachable in the child now that it is forgotten,
            // so nothing uses these inherited descriptors any more.
            unsafe { q.close_inherited() };
        }
    }
    // What a queue still starting at the fork made (its ring) and any other private file of ours.
    sys::close_own_inherited();
    // The duplicates the parent's requests held.
    sys::release_all_inherited();
    notify::after_fork_child();
}
