//! The `SIGEV_THREAD` dispatcher: `deliver` links the caller-provided [`ThreadJob`] into a
//! lock-free intake list and wakes the dispatcher thread `aio-rs-notify` (started by
//! [`ensure_started`], which the submission path calls whenever it accepts a `Notify::Thread`).
//! The dispatcher takes the whole intake list in FIFO order and, for every job: copies the
//! callback out of the job, calls `on_done(job)` (so the caller may recycle its control block
//! *before* the callback runs), then hands the callback to the pool (attr == NULL) or to a thread
//! made with the attributes (see `super::pool`, `super::attr`).
//!
//! All waits are futex waits (the idle dispatcher and idle pool workers sleep without a timeout;
//! waits for capacity use 100 ms timeouts as a safety net); nothing spins.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::{attr, pool, Notify, CAPACITY_WAIT};
use crate::errno::Errno;
use crate::sys::{self, futex_wait, futex_wake, ErrnoGuard, Linked, Stack, ThreadAttr};

/// The parts of a job the notifier needs. Written by `deliver`, read by the dispatcher.
#[derive(Clone, Copy)]
struct JobData {
    notify: Notify,
    on_done: Option<unsafe fn(*mut ThreadJob)>,
}

/// Storage that the caller embeds in its own long-lived control block for one delivery.
/// The notifier owns it from `deliver` until it calls `on_done(job)`.
pub(crate) struct ThreadJob {
    /// Link of the intake list (a `sys::Stack`).
    next: AtomicPtr<ThreadJob>,
    /// Written only by `submit` (exclusive by its contract), read only by the dispatcher after
    /// it took the job off the intake list; the stack's release/acquire edges order the two.
    data: UnsafeCell<JobData>,
}

// SAFETY: the UnsafeCell is accessed by one party at a time, as set out in the contract of
// `deliver` (the caller before it, the dispatcher between it and on_done); the link is atomic.
unsafe impl Sync for ThreadJob {}
// SAFETY: moving a job moves its link and data, which belong to one party at a time (see
// `Sync`); the raw pointers inside are plain data.
unsafe impl Send for ThreadJob {}

// SAFETY: `link` always returns the `next` field, which only the intake stack touches.
unsafe impl Linked for ThreadJob {
    unsafe fn link<'a>(node: *mut Self) -> &'a AtomicPtr<Self> {
        // SAFETY: the caller guarantees `node` is live for 'a.
        unsafe { &(*node).next }
    }
}

impl ThreadJob {
    pub(crate) const fn new() -> Self {
        ThreadJob {
            next: AtomicPtr::new(ptr::null_mut()),
            data: UnsafeCell::new(JobData { notify: Notify::None, on_done: None }),
        }
    }
}

impl Default for ThreadJob {
    fn default() -> Self {
        Self::new()
    }
}

/// The intake list; the dispatcher is its one consumer.
static INTAKE: Stack<ThreadJob> = Stack::new();
/// Futex word: incremented after every push.
static WAKE_SEQ: AtomicU32 = AtomicU32::new(0);
/// 1 while the dispatcher is about to sleep or sleeping on WAKE_SEQ.
static DISPATCHER_SLEEPING: AtomicU32 = AtomicU32::new(0);

/// The `SIGEV_THREAD` part of `super::deliver`.
///
/// # Safety
/// As `super::deliver`: `job` is valid and not used by another delivery until `on_done(job)`.
pub(super) unsafe fn submit(n: &Notify, job: *mut ThreadJob, on_done: unsafe fn(*mut ThreadJob)) {
    let _errno = ErrnoGuard::save();
    // SAFETY: the caller guarantees `job` is valid and that nobody else uses it until on_done;
    // the dispatcher reads it only after the push below publishes it.
    unsafe {
        *(*job).data.get() = JobData { notify: *n, on_done: Some(on_done) };
        INTAKE.push(job);
    }
    wake_dispatcher();
}

fn wake_dispatcher() {
    WAKE_SEQ.fetch_add(1, Ordering::SeqCst);
    if DISPATCHER_SLEEPING.load(Ordering::SeqCst) != 0 {
        futex_wake(&WAKE_SEQ, 1);
    }
}

/// Sleeps until a push happens, unless one happened already.
///
/// No lost wake-up: producer P = (push; WAKE_SEQ += 1; load SLEEPING), dispatcher D = (seen =
/// load WAKE_SEQ; SLEEPING = 1; load head; futex_wait(WAKE_SEQ, seen)), all SeqCst (the stack's
/// operations are SeqCst too). If P's load of SLEEPING returns 0, it precedes D's store of 1 in
/// the total order, so P's push precedes D's load of the head, which then sees the job (or the
/// dispatcher took it earlier) and does not sleep. If it returns 1, P calls futex_wake after
/// incrementing WAKE_SEQ: either the kernel's value check in D's futex_wait sees the new value
/// (immediate return) or D is already queued on the futex and is woken (the futex contract).
fn dispatcher_idle_wait() {
    let seen = WAKE_SEQ.load(Ordering::SeqCst);
    DISPATCHER_SLEEPING.store(1, Ordering::SeqCst);
    if INTAKE.is_empty() {
        let _ = futex_wait(&WAKE_SEQ, seen, None);
    }
    DISPATCHER_SLEEPING.store(0, Ordering::SeqCst);
}

const STOPPED: u32 = 0;
const STARTING: u32 = 1;
const RUNNING: u32 = 2;

/// Dispatcher state (also a futex word for callers waiting on a concurrent start).
static STATE: AtomicU32 = AtomicU32::new(STOPPED);
/// Incremented in every forked child; threads of an older generation must exit.
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// Makes sure the notifier thread runs. Called at submission time whenever a request (or list)
/// with `Notify::Thread` is accepted; not async-signal-safe (may create the thread). Costs one
/// atomic load once started.
///
/// Fails with EAGAIN only if the dispatcher thread, or the callback pool's first thread, cannot
/// be created (the submission should then fail with EAGAIN, as POSIX allows for resource
/// shortage): with both, every callback is called even while no thread can be created
/// (`pool::ensure_thread`).
#[inline]
pub(crate) fn ensure_started() -> Result<(), Errno> {
    if STATE.load(Ordering::Acquire) == RUNNING && pool::has_thread() {
        return Ok(());
    }
    start_slow()
}

#[cold]
fn start_slow() -> Result<(), Errno> {
    if !pool::ensure_thread(generation()) {
        return Err(Errno::EAGAIN);
    }
    loop {
        match STATE.compare_exchange(STOPPED, STARTING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                let gen = generation();
                let result = sys::spawn("aio-rs-notify", ThreadAttr::Default, move || dispatcher_loop(gen));
                let next = if result.is_ok() { RUNNING } else { STOPPED };
                STATE.store(next, Ordering::Release);
                futex_wake(&STATE, i32::MAX);
                return result;
            }
            Err(RUNNING) => return Ok(()),
            Err(_) => {
                let _ = futex_wait(&STATE, STARTING, Some(CAPACITY_WAIT));
            }
        }
    }
}

/// The dispatcher's part of `super::after_fork_child`.
pub(super) fn after_fork_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    INTAKE.forget_all();
    WAKE_SEQ.store(0, Ordering::SeqCst);
    DISPATCHER_SLEEPING.store(0, Ordering::SeqCst);
    STATE.store(STOPPED, Ordering::SeqCst);
}

/// The current generation (see the module documentation of `notify`).
pub(super) fn generation() -> u32 {
    GENERATION.load(Ordering::SeqCst)
}

fn dispatcher_loop(gen: u32) {
    loop {
        if generation() != gen {
            return;
        }
        let mut taken = INTAKE.take_all().peekable();
        if taken.peek().is_none() {
            dispatcher_idle_wait();
            continue;
        }
        for job in taken {
            // Read everything we need before on_done: afterwards the job belongs to its owner.
            // SAFETY: the intake stack made the dispatcher the job's sole owner until its on_done
            // (the iterator has already read its link); it is valid by deliver's contract.
            let data = unsafe { *(*job).data.get() };
            if let Some(on_done) = data.on_done {
                // SAFETY: deliver's caller gave us this on_done for this job; called exactly once.
                unsafe { on_done(job) };
            }
            if let Notify::Thread { function, value, attr } = data.notify {
                if attr.is_null() || !attr::spawn(gen, function, value, attr) {
                    pool::post(gen, pool::Item { function: Some(function), value });
                }
            }
        }
    }
}
