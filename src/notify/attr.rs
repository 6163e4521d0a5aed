//! `SIGEV_THREAD` callbacks with application attributes: each runs on a new thread made by
//! `pthread_create(attr)` (named `aio-rs-cb-attr`; detached right after creation if the
//! attributes say joinable). At most `ATTR_CAP` of them are alive at once; beyond that the
//! dispatcher waits for one to finish. If `pthread_create` refuses the attributes (bad attr, no
//! resources), the callback runs on the pool instead: the attributes are then not honoured, but
//! the callback still runs exactly once (glibc would drop it).
//!
//! The thread runs `src/notify/runner.c` (`sys::spawn_runner`), which calls the callback from C
//! frames only: a callback that ends its thread with `pthread_exit`, or is cancelled, unwinds no
//! Rust frame, and the thread's end is counted all the same (`gone`).
//!
//! The `attr` pointer is copied at submission and read at notification time: the application
//! must keep the attribute object alive until the callback has started (as with glibc).

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU32, Ordering};

use super::dispatch::generation;
use super::{ATTR_CAP, CAPACITY_WAIT};
use crate::abi::SigVal;
use crate::sys::{self, futex_wait, futex_wake, Runner, ThreadAttr};

/// Futex word: number of attribute threads alive (incremented only by the dispatcher).
static ATTR_ALIVE: AtomicU32 = AtomicU32::new(0);

/// One callback's thread: its runner (first, so that the runner's address is the task's), the
/// callback, and the generation it was started in. Freed by `gone`.
#[repr(C)]
struct Task {
    runner: Runner,
    function: unsafe extern "C" fn(SigVal),
    value: SigVal,
    gen: u32,
    taken: bool,
}

/// The runner's `take`: the one callback, then the end of the thread.
extern "C" fn take(ctx: *mut c_void, f: *mut Option<unsafe extern "C" fn(SigVal)>, v: *mut SigVal) -> c_int {
    // SAFETY: ctx is the task made by `spawn`, used by this thread alone until `gone`.
    let task = unsafe { &mut *(ctx as *mut Task) };
    if task.taken {
        return 0;
    }
    task.taken = true;
    // SAFETY: the C runner passes pointers to its two locals.
    unsafe {
        *f = Some(task.function);
        *v = task.value;
    }
    1
}

extern "C" fn done(_: *mut c_void) {}

/// The runner's `gone`: the thread ends, however it ended; frees the task.
extern "C" fn gone(ctx: *mut c_void) {
    // SAFETY: ctx is the task made by `spawn` with Box::into_raw; this is its last use.
    let task = unsafe { Box::from_raw(ctx as *mut Task) };
    if generation() == task.gen {
        ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
        futex_wake(&ATTR_ALIVE, 1);
    }
}

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
    let task = Box::into_raw(Box::new(Task {
        runner: Runner { name: sys::thread_name("aio-rs-cb-attr"), take, done, gone, ctx: core::ptr::null_mut() },
        function,
        value,
        gen,
        taken: false,
    }));
    // SAFETY: `task` was just made; its runner's ctx is the task itself.
    unsafe { (*task).runner.ctx = task.cast() };
    // The signal mask is the dispatcher's (all blocked) unless the attributes carry their own
    // (pthread_attr_setsigmask_np), which pthread_create applies.
    // SAFETY: the runner lives in the task, which only its thread's `gone` frees.
    let started = unsafe { sys::spawn_runner(ThreadAttr::User(attr), task.cast()) };
    if started.is_err() {
        // SAFETY: the thread was not created: the task is still ours.
        drop(unsafe { Box::from_raw(task) });
        ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// This part's share of `super::after_fork_child`.
pub(super) fn after_fork_child() {
    ATTR_ALIVE.store(0, Ordering::SeqCst);
}
