//! Completion notification: validation of a `struct sigevent` at submission time and
//! exactly-once delivery at completion time, for single requests and for `lio_listio` lists.
//!
//! * `SIGEV_NONE`      – nothing happens.
//! * `SIGEV_SIGNAL`    – `rt_sigqueueinfo` to this process, `si_code = SI_ASYNCIO`.
//! * `SIGEV_THREAD_ID` – `rt_tgsigqueueinfo` to one thread of this process, same `siginfo`.
//! * `SIGEV_THREAD`    – the callback runs on a thread owned by this module (see "Notifier").
//!
//! [`deliver`] is async-signal-safe: it takes no lock, allocates nothing, creates no thread and
//! preserves `errno`, so it may run inside `aio_suspend`/`aio_error` called from a signal handler.
//!
//! # Notifier (`SIGEV_THREAD`)
//!
//! `deliver` only links the caller-provided [`ThreadJob`] into a lock-free intake list and wakes the
//! dispatcher thread `aio-rs-notify` (started by [`ensure_started`], which the submission path calls
//! whenever it accepts a `Notify::Thread`). The dispatcher takes the whole intake list, restores FIFO
//! order, and for every job: copies the callback out of the job, calls `on_done(job)` (so the caller
//! may recycle its control block *before* the callback runs), then hands the callback to
//!
//! * attr == NULL: a bounded pool of at most [`POOL_CAP`] threads named `aio-rs-cb` (default stack,
//!   every signal blocked), grown on demand while every existing worker is busy; beyond the cap the
//!   dispatcher waits for a worker to go idle (the jobs behind it stay queued in the intake list);
//! * attr != NULL: a new thread made by `pthread_create(attr)` (named `aio-rs-cb-attr`; detached
//!   right after creation if the attributes say joinable). At most [`ATTR_CAP`] of them are alive at
//!   once; beyond that the dispatcher waits for one to finish. If `pthread_create` refuses the
//!   attributes (bad attr, no resources), the callback runs on the pool instead: the attributes are
//!   then not honoured, but the callback still runs exactly once (glibc would drop it).
//!
//! All waits are futex waits (the idle dispatcher and idle pool workers sleep without a timeout;
//! waits for capacity use 100 ms timeouts as a safety net); nothing spins.
//!
//! The `attr` pointer is copied at submission and read at notification time: the application
//! must keep the attribute object alive until the callback has started (as with glibc).
//!
//! A callback that blocks until another `SIGEV_THREAD` notification has run can deadlock once
//! [`POOL_CAP`] such callbacks are waiting: that is the price of never creating unbounded threads.
//!
//! # fork
//!
//! The module holds no lock at any time, only atomics, so [`after_fork_child`] just stores fresh
//! values (AS-safe). Every thread of the module remembers the "generation" it was created in; a
//! thread that survives into a child (only possible if a user callback itself calls `fork`) sees
//! a new generation when the callback returns and exits without touching the shared state.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_long, c_void};
use core::fmt;
use core::mem::{size_of, MaybeUninit};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::time::Duration;

use crate::abi::{SigEvent, SigVal, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, SI_ASYNCIO};
use crate::errno::Errno;

/// Maximum number of pool threads (`aio-rs-cb`) for callbacks without attributes.
pub(crate) const POOL_CAP: usize = 16;
/// Maximum number of callback threads created from user attributes alive at once.
pub(crate) const ATTR_CAP: u32 = 16;

/// Safety-net timeout of the waits for capacity (a wake-up is expected long before).
const CAPACITY_WAIT: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// A validated, copied notification request.
#[derive(Clone, Copy)]
pub enum Notify {
    None,
    Signal { signo: c_int, value: SigVal },
    Thread { function: unsafe extern "C" fn(SigVal), value: SigVal, attr: *mut libc::pthread_attr_t },
    ThreadId { signo: c_int, value: SigVal, tid: libc::pid_t },
}

// SAFETY: a Notify is plain data (a function pointer, an opaque sigval, an attribute pointer the
// application promised to keep valid); this module never dereferences `value`, and `attr` is only
// handed to pthread_create, which may be called from any thread.
unsafe impl Send for Notify {}
// SAFETY: see `Send`; a shared `&Notify` only allows copying these plain values.
unsafe impl Sync for Notify {}

impl Notify {
    /// Validates and copies. NULL pointer -> `Notify::None` (lio_listio allows a NULL list sigevent).
    ///
    /// Unknown `sigev_notify` -> EINVAL; `SIGEV_SIGNAL`/`SIGEV_THREAD_ID` with a signal number outside
    /// `1..=SIGRTMAX` -> EINVAL; `SIGEV_THREAD` with a NULL function -> EINVAL; `SIGEV_THREAD_ID` with
    /// `tid <= 0` or a tid that is not a thread of this process -> EINVAL.
    ///
    /// # Safety
    /// `sev` is NULL or points to a readable `SigEvent` (alignment not required).
    pub unsafe fn from_sigevent(sev: *const SigEvent) -> Result<Notify, Errno> {
        if sev.is_null() {
            return Ok(Notify::None);
        }
        // SAFETY: the caller guarantees `sev` points to a readable SigEvent; SigEvent is Copy
        // plain data and read_unaligned has no alignment requirement.
        let sev = unsafe { ptr::read_unaligned(sev) };
        let value = sev.sigev_value;
        match sev.sigev_notify {
            SIGEV_NONE => Ok(Notify::None),
            SIGEV_SIGNAL => {
                check_signo(sev.sigev_signo)?;
                Ok(Notify::Signal { signo: sev.sigev_signo, value })
            }
            SIGEV_THREAD => {
                // SAFETY: every bit pattern is a valid SigevThread: `function` is an
                // Option<fn> (NULL is None, any other value a fn pointer we never call unless
                // the application asked for it) and `attribute` is a raw pointer.
                let thread = unsafe { sev.un.thread };
                match thread.function {
                    Some(function) => Ok(Notify::Thread { function, value, attr: thread.attribute }),
                    None => Err(Errno(libc::EINVAL)),
                }
            }
            SIGEV_THREAD_ID => {
                check_signo(sev.sigev_signo)?;
                // SAFETY: the union's first 4 bytes read as a pid_t; every bit pattern is valid.
                let tid = unsafe { sev.un.tid };
                if tid <= 0 || !is_thread_of_this_process(tid) {
                    return Err(Errno(libc::EINVAL));
                }
                Ok(Notify::ThreadId { signo: sev.sigev_signo, value, tid })
            }
            _ => Err(Errno(libc::EINVAL)),
        }
    }

    /// True for `Notify::None`.
    pub fn is_none(&self) -> bool {
        matches!(self, Notify::None)
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY (for the three reads below): a SigVal is 8 bytes of plain data; reading it as a
        // pointer is valid for every bit pattern.
        match *self {
            Notify::None => f.write_str("Notify::None"),
            Notify::Signal { signo, value } => {
                // SAFETY: see above.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::Signal {{ signo: {signo}, value: {v:p} }}")
            }
            Notify::Thread { function, value, attr } => {
                // SAFETY: see above.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::Thread {{ function: {:p}, value: {v:p}, attr: {attr:p} }}", function as *const ())
            }
            Notify::ThreadId { signo, value, tid } => {
                // SAFETY: see above.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::ThreadId {{ signo: {signo}, value: {v:p}, tid: {tid} }}")
            }
        }
    }
}

fn check_signo(signo: c_int) -> Result<(), Errno> {
    if signo < 1 || signo > libc::SIGRTMAX() {
        Err(Errno(libc::EINVAL))
    } else {
        Ok(())
    }
}

/// `tgkill(getpid(), tid, 0)`: ESRCH means `tid` is not a thread of this thread group.
fn is_thread_of_this_process(tid: libc::pid_t) -> bool {
    let _errno = ErrnoGuard::save();
    let pid = raw_getpid();
    // SAFETY: tgkill with signal 0 only performs the existence/permission check.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid as c_long, tid as c_long, 0 as c_long) };
    // SAFETY: __errno_location returns this thread's errno slot.
    r == 0 || unsafe { *libc::__errno_location() } != libc::ESRCH
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

/// The parts of a job the notifier needs. Written by `deliver`, read by the dispatcher.
#[derive(Clone, Copy)]
struct JobData {
    notify: Notify,
    on_done: Option<unsafe fn(*mut ThreadJob)>,
}

/// Storage that the caller embeds in its own long-lived control block for one delivery.
/// The notifier owns it from [`deliver`] until it calls `on_done(job)`.
pub struct ThreadJob {
    /// Intrusive link of the intake list (see the correctness argument at `INTAKE`).
    next: AtomicPtr<ThreadJob>,
    /// Written only by `deliver` (exclusive by its contract), read only by the dispatcher after
    /// it took the job off the intake list; the list's release/acquire edges order the two.
    data: UnsafeCell<JobData>,
}

// SAFETY: the UnsafeCell is accessed by one party at a time, as set out in the contract of
// `deliver` (the caller before it, the dispatcher between it and on_done); the link is atomic.
unsafe impl Sync for ThreadJob {}
// SAFETY: see `Sync`; the raw pointers inside are plain data.
unsafe impl Send for ThreadJob {}

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

/// `siginfo_t` as the kernel lays it out for `SI_QUEUE`-style signals (the `_rt` member).
#[repr(C)]
struct QueuedSigInfo {
    si_signo: c_int,
    si_errno: c_int,
    si_code: c_int,
    _pad: c_int,
    si_pid: libc::pid_t,
    si_uid: libc::uid_t,
    si_value: SigVal,
    _rest: [u64; 12],
}

const _: () = assert!(size_of::<QueuedSigInfo>() == size_of::<libc::siginfo_t>());

impl QueuedSigInfo {
    fn new(signo: c_int, value: SigVal, pid: libc::pid_t) -> Self {
        QueuedSigInfo {
            si_signo: signo,
            si_errno: 0,
            si_code: SI_ASYNCIO,
            _pad: 0,
            si_pid: pid,
            si_uid: raw_getuid(),
            si_value: value,
            _rest: [0; 12],
        }
    }
}

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
pub unsafe fn deliver(n: &Notify, job: *mut ThreadJob, on_done: unsafe fn(*mut ThreadJob)) -> bool {
    match *n {
        Notify::None => false,
        Notify::Signal { signo, value } => {
            let _errno = ErrnoGuard::save();
            let pid = raw_getpid();
            let info = QueuedSigInfo::new(signo, value, pid);
            // SAFETY: `info` is a fully initialised 128-byte siginfo that outlives the call.
            unsafe {
                libc::syscall(libc::SYS_rt_sigqueueinfo, pid as c_long, signo as c_long, &info as *const QueuedSigInfo);
            }
            false
        }
        Notify::ThreadId { signo, value, tid } => {
            let _errno = ErrnoGuard::save();
            let pid = raw_getpid();
            let info = QueuedSigInfo::new(signo, value, pid);
            // SAFETY: as above.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_tgsigqueueinfo,
                    pid as c_long,
                    tid as c_long,
                    signo as c_long,
                    &info as *const QueuedSigInfo,
                );
            }
            false
        }
        Notify::Thread { .. } => {
            let _errno = ErrnoGuard::save();
            // SAFETY: the caller guarantees `job` is valid and that nobody else uses it until
            // on_done; the dispatcher reads it only after the push below publishes it.
            unsafe {
                *(*job).data.get() = JobData { notify: *n, on_done: Some(on_done) };
                intake_push(job);
            }
            wake_dispatcher();
            true
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The intake list (lock-free MPSC) and the dispatcher's wake-up word
// ---------------------------------------------------------------------------------------------
//
// Correctness argument for the intake list (a Treiber stack with a take-all consumer).
//
// Producers (`intake_push`, any thread, possibly a signal handler): read HEAD, store it into
// job.next, then CAS HEAD from that value to `job`; retry with the observed value on failure.
// Consumer (only the dispatcher): `HEAD.swap(null)` takes the whole list at once, then walks and
// reverses it privately. There is no single-element pop.
//
// * Linearisability: a push takes effect at its successful CAS. The CAS succeeds only if HEAD
//   still equals the value just written into job.next, so at that instant the job is linked in
//   front of exactly the list that HEAD designated. A swap takes effect atomically too, so every
//   pushed job ends up in exactly one taken list: jobs are never lost nor taken twice.
// * ABA: the classic Treiber ABA needs a pop that reads `head->next` and then CASes HEAD to it;
//   if HEAD went A -> ... -> A meanwhile, `next` may be stale. Here nobody ever dereferences the
//   current head before a CAS: a push only writes its *own* job's `next`, which nobody else can see
//   yet, and the consumer uses an unconditional swap. If HEAD changes A -> B -> A between a
//   producer's load and CAS (A taken, recycled by on_done and pushed again), the CAS succeeds and
//   links job -> A, where A really is the current head: correct. So ABA is harmless.
// * Memory ordering: writes to job.data and job.next happen before the producer's CAS (release).
//   Later pushes are read-modify-writes on HEAD, so they continue the release sequence of every
//   earlier push; the consumer's swap (acquire) reads the last of them and therefore
//   synchronises with every push whose job it receives: all their `data`/`next` are visible.
// * Ownership: between the swap and on_done(job), only the dispatcher touches a job. It reads
//   job.next before on_done(job), because after on_done the owner may push the job again.
// * Signal handlers: a push interrupted by a handler that pushes on the same thread just fails its
//   CAS once and retries; no push waits for another one (lock-free, AS-safe).
// * The operations on HEAD, WAKE_SEQ and DISPATCHER_SLEEPING are SeqCst so that the "no lost
//   wake-up" argument at `dispatcher_idle_wait` can reason about one total order.

/// Head of the intake list (LIFO; the dispatcher reverses each batch to restore FIFO order).
static INTAKE: AtomicPtr<ThreadJob> = AtomicPtr::new(ptr::null_mut());
/// Futex word: incremented after every push.
static WAKE_SEQ: AtomicU32 = AtomicU32::new(0);
/// 1 while the dispatcher is about to sleep or sleeping on WAKE_SEQ.
static DISPATCHER_SLEEPING: AtomicU32 = AtomicU32::new(0);

/// # Safety
/// `job` is valid and exclusively owned by the caller (not in the list).
unsafe fn intake_push(job: *mut ThreadJob) {
    let mut head = INTAKE.load(Ordering::Relaxed);
    loop {
        // SAFETY: the caller owns `job`; no other thread can observe it before the CAS succeeds.
        unsafe { (*job).next.store(head, Ordering::Relaxed) };
        match INTAKE.compare_exchange_weak(head, job, Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => return,
            Err(observed) => head = observed,
        }
    }
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
/// load WAKE_SEQ; SLEEPING = 1; load HEAD; futex_wait(WAKE_SEQ, seen)), all SeqCst.
/// If P's load of SLEEPING returns 0, it precedes D's store of 1 in the total order, so P's push
/// precedes D's load of HEAD, which then sees the job (or the dispatcher took it earlier) and
/// does not sleep. If it returns 1, P calls futex_wake after incrementing WAKE_SEQ: either the
/// kernel's value check in D's futex_wait sees the new value (immediate return) or D is already
/// queued on the futex and is woken (the futex contract).
fn dispatcher_idle_wait() {
    let seen = WAKE_SEQ.load(Ordering::SeqCst);
    DISPATCHER_SLEEPING.store(1, Ordering::SeqCst);
    if INTAKE.load(Ordering::SeqCst).is_null() {
        futex_wait(&WAKE_SEQ, seen, None);
    }
    DISPATCHER_SLEEPING.store(0, Ordering::SeqCst);
}

// ---------------------------------------------------------------------------------------------
// Notifier start-up, generations, fork
// ---------------------------------------------------------------------------------------------

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
/// Fails with EAGAIN only if the dispatcher thread cannot be created (the submission should then
/// fail with EAGAIN, as POSIX allows for resource shortage).
#[inline]
pub fn ensure_started() -> Result<(), Errno> {
    if STATE.load(Ordering::Acquire) == RUNNING {
        return Ok(());
    }
    start_slow()
}

#[cold]
fn start_slow() -> Result<(), Errno> {
    loop {
        match STATE.compare_exchange(STOPPED, STARTING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                let gen = GENERATION.load(Ordering::SeqCst);
                let result = spawn_internal(dispatcher_main, gen as usize);
                let next = if result.is_ok() { RUNNING } else { STOPPED };
                STATE.store(next, Ordering::Release);
                futex_wake(&STATE, i32::MAX);
                return result.map_err(|_| Errno(libc::EAGAIN));
            }
            Err(RUNNING) => return Ok(()),
            Err(_) => futex_wait(&STATE, STARTING, Some(CAPACITY_WAIT)),
        }
    }
}

/// Resets all state in a forked child (called from a pthread_atfork child handler; threads do
/// not survive fork): the intake list empties (pending jobs of the parent are dropped: neither
/// their callbacks nor their on_done run in the child), no notifier thread is considered running,
/// the pool is empty. Async-signal-safe (atomic stores only). No prepare/parent handler is needed:
/// the module never holds a lock.
pub fn after_fork_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    INTAKE.store(ptr::null_mut(), Ordering::SeqCst);
    WAKE_SEQ.store(0, Ordering::SeqCst);
    DISPATCHER_SLEEPING.store(0, Ordering::SeqCst);
    STATE.store(STOPPED, Ordering::SeqCst);
    SPAWNED.store(0, Ordering::SeqCst);
    for slot in SLOTS.iter() {
        slot.state.store(SLOT_IDLE, Ordering::SeqCst);
    }
    IDLE_SEQ.store(0, Ordering::SeqCst);
    DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
    ATTR_ALIVE.store(0, Ordering::SeqCst);
}

fn current_generation_is(gen: u32) -> bool {
    GENERATION.load(Ordering::SeqCst) == gen
}

// ---------------------------------------------------------------------------------------------
// The dispatcher
// ---------------------------------------------------------------------------------------------

extern "C" fn dispatcher_main(arg: *mut c_void) -> *mut c_void {
    let gen = arg as usize as u32;
    guarded("notifier", || {
        block_all_signals();
        set_thread_name(b"aio-rs-notify\0");
        dispatcher_loop(gen);
    });
    ptr::null_mut()
}

fn dispatcher_loop(gen: u32) {
    loop {
        if !current_generation_is(gen) {
            return;
        }
        let taken = INTAKE.swap(ptr::null_mut(), Ordering::SeqCst);
        if taken.is_null() {
            dispatcher_idle_wait();
            continue;
        }
        // Reverse the LIFO batch into FIFO order. SAFETY (whole block): the swap made the
        // dispatcher the sole owner of every job in the batch until their on_done; they are
        // valid by deliver's contract.
        let mut fifo: *mut ThreadJob = ptr::null_mut();
        let mut cur = taken;
        while !cur.is_null() {
            // SAFETY: see above.
            let next = unsafe { (*cur).next.load(Ordering::Relaxed) };
            // SAFETY: see above.
            unsafe { (*cur).next.store(fifo, Ordering::Relaxed) };
            fifo = cur;
            cur = next;
        }
        let mut cur = fifo;
        while !cur.is_null() {
            // Read everything we need before on_done: afterwards the job belongs to its owner.
            // SAFETY: see above.
            let (next, data) = unsafe { ((*cur).next.load(Ordering::Relaxed), *(*cur).data.get()) };
            if let Some(on_done) = data.on_done {
                // SAFETY: deliver's caller gave us this on_done for this job; called exactly once.
                unsafe { on_done(cur) };
            }
            if let Notify::Thread { function, value, attr } = data.notify {
                dispatch_callback(gen, function, value, attr);
            }
            cur = next;
        }
    }
}

fn dispatch_callback(gen: u32, function: unsafe extern "C" fn(SigVal), value: SigVal, attr: *mut libc::pthread_attr_t) {
    if !attr.is_null() && spawn_attr_thread(gen, function, value, attr) {
        return;
    }
    post_to_pool(gen, Item { function: Some(function), value });
}

// ---------------------------------------------------------------------------------------------
// The callback pool (attr == NULL)
// ---------------------------------------------------------------------------------------------
//
// One mailbox slot per worker; the dispatcher is the only writer of items and of SLOT_FULL, the
// worker the only one that moves a slot out of SLOT_FULL. The dispatcher may write the item only
// while the slot is not FULL (worker done with the previous item: its release store of IDLE after
// copying the item pairs with the dispatcher's acquire load); the worker reads the item only once
// it sees FULL (the dispatcher's release swap pairs with the worker's acquire load).

const SLOT_IDLE: u32 = 0;
const SLOT_FULL: u32 = 1;
/// Idle and (about to be) asleep on the slot's futex: posting must wake it.
const SLOT_SLEEPING: u32 = 2;

#[derive(Clone, Copy)]
struct Item {
    function: Option<unsafe extern "C" fn(SigVal)>,
    value: SigVal,
}

struct Slot {
    state: AtomicU32,
    item: UnsafeCell<Item>,
}

// SAFETY: `item` is accessed under the FULL/IDLE hand-over protocol described above.
unsafe impl Sync for Slot {}

impl Slot {
    const fn new() -> Self {
        Slot {
            state: AtomicU32::new(SLOT_IDLE),
            item: UnsafeCell::new(Item { function: None, value: SigVal { sival_int: 0 } }),
        }
    }

    fn is_free(&self) -> bool {
        self.state.load(Ordering::SeqCst) != SLOT_FULL
    }

    /// Dispatcher only, slot not FULL.
    fn post(&self, item: Item) {
        // SAFETY: the slot is not FULL, so its worker no longer reads the item (see protocol).
        unsafe { *self.item.get() = item };
        if self.state.swap(SLOT_FULL, Ordering::SeqCst) == SLOT_SLEEPING {
            futex_wake(&self.state, 1);
        }
    }

    /// Worker only: waits for FULL and copies the item out.
    fn wait_take(&self) -> Item {
        loop {
            match self.state.load(Ordering::Acquire) {
                SLOT_FULL => break,
                SLOT_IDLE => {
                    if self
                        .state
                        .compare_exchange(SLOT_IDLE, SLOT_SLEEPING, Ordering::Acquire, Ordering::Acquire)
                        .is_err()
                    {
                        continue;
                    }
                    futex_wait(&self.state, SLOT_SLEEPING, None);
                }
                _ => futex_wait(&self.state, SLOT_SLEEPING, None),
            }
        }
        // SAFETY: the slot is FULL: the dispatcher finished writing the item (acquire above) and
        // will not touch it until we leave FULL.
        unsafe { *self.item.get() }
    }
}

// A const item (not `[const { .. }; N]`) keeps the crate's MSRV; it is only used as an array
// initialiser, never shared.
#[allow(clippy::declare_interior_mutable_const)]
const SLOT_INIT: Slot = Slot::new();
static SLOTS: [Slot; POOL_CAP] = [SLOT_INIT; POOL_CAP];
/// Number of pool workers created (dispatcher-owned; reset after fork).
static SPAWNED: AtomicU32 = AtomicU32::new(0);
/// Futex word: incremented each time a worker becomes idle.
static IDLE_SEQ: AtomicU32 = AtomicU32::new(0);
/// 1 while the dispatcher waits for an idle worker.
static DISPATCHER_WAITS_IDLE: AtomicU32 = AtomicU32::new(0);

fn free_slot(spawned: usize) -> Option<&'static Slot> {
    SLOTS[..spawned].iter().find(|slot| slot.is_free())
}

/// Hands `item` to an idle worker, creating one if all are busy and the cap allows, otherwise
/// waiting for one to go idle. Dispatcher only.
fn post_to_pool(gen: u32, item: Item) {
    loop {
        let seen = IDLE_SEQ.load(Ordering::SeqCst);
        let spawned = SPAWNED.load(Ordering::Relaxed) as usize;
        if let Some(slot) = free_slot(spawned) {
            slot.post(item);
            return;
        }
        if spawned < POOL_CAP {
            let slot = &SLOTS[spawned];
            // SAFETY: no worker exists for this slot yet; the dispatcher is its only user.
            unsafe { *slot.item.get() = item };
            slot.state.store(SLOT_FULL, Ordering::SeqCst);
            let arg = ((gen as usize) << 8) | spawned;
            if spawn_internal(worker_main, arg).is_ok() {
                SPAWNED.store(spawned as u32 + 1, Ordering::Relaxed);
                return;
            }
            slot.state.store(SLOT_IDLE, Ordering::SeqCst);
            if spawned == 0 {
                // No worker at all and none can be created right now: retry a bit later.
                futex_wait(&IDLE_SEQ, seen, Some(CAPACITY_WAIT));
                continue;
            }
        }
        // Every worker is busy: wait for one to go idle. No lost wake-up, by the same argument
        // as `dispatcher_idle_wait` (worker: store IDLE; IDLE_SEQ += 1; load WAITS flag).
        DISPATCHER_WAITS_IDLE.store(1, Ordering::SeqCst);
        if free_slot(spawned).is_none() {
            futex_wait(&IDLE_SEQ, seen, Some(CAPACITY_WAIT));
        }
        DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
    }
}

extern "C" fn worker_main(arg: *mut c_void) -> *mut c_void {
    let arg = arg as usize;
    let index = arg & 0xff;
    let gen = (arg >> 8) as u32;
    guarded("callback pool", || {
        block_all_signals();
        set_thread_name(b"aio-rs-cb\0");
        let slot = &SLOTS[index];
        loop {
            let item = slot.wait_take();
            if let Some(function) = item.function {
                // SAFETY: the application registered this SIGEV_THREAD callback with this value.
                unsafe { function(item.value) };
            }
            if !current_generation_is(gen) {
                // We are the thread that forked, now in the child: the state is not ours.
                return;
            }
            slot.state.store(SLOT_IDLE, Ordering::SeqCst);
            IDLE_SEQ.fetch_add(1, Ordering::SeqCst);
            if DISPATCHER_WAITS_IDLE.load(Ordering::SeqCst) != 0 {
                futex_wake(&IDLE_SEQ, 1);
            }
        }
    });
    ptr::null_mut()
}

// ---------------------------------------------------------------------------------------------
// Callback threads with application attributes (attr != NULL)
// ---------------------------------------------------------------------------------------------

/// Futex word: number of attribute threads alive (incremented only by the dispatcher).
static ATTR_ALIVE: AtomicU32 = AtomicU32::new(0);

extern "C" {
    // glibc exports it; the libc crate does not declare it.
    fn pthread_attr_getdetachstate(attr: *const libc::pthread_attr_t, state: *mut c_int) -> c_int;
}

struct AttrTask {
    function: unsafe extern "C" fn(SigVal),
    value: SigVal,
    gen: u32,
}

/// Runs the callback on a new thread made with `attr`. Returns false (nothing started) if
/// pthread_create fails. Dispatcher only.
fn spawn_attr_thread(
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
        futex_wait(&ATTR_ALIVE, alive, Some(CAPACITY_WAIT));
    }
    ATTR_ALIVE.fetch_add(1, Ordering::SeqCst);
    let task = Box::into_raw(Box::new(AttrTask { function, value, gen }));
    let mut detach_state: c_int = libc::PTHREAD_CREATE_DETACHED;
    // SAFETY: the application promised `attr` points to an initialised attribute object.
    let got = unsafe { pthread_attr_getdetachstate(attr, &mut detach_state) };
    let joinable = got == 0 && detach_state == libc::PTHREAD_CREATE_JOINABLE;
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: valid out-pointer and attributes; `task` is handed over to the new thread.
    let rc = unsafe { libc::pthread_create(thread.as_mut_ptr(), attr, attr_thread_main, task.cast()) };
    if rc != 0 {
        // SAFETY: no thread was created, so `task` is still ours.
        drop(unsafe { Box::from_raw(task) });
        ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    if joinable {
        // SAFETY: pthread_create succeeded, so the id is initialised; nobody else joins it.
        unsafe { libc::pthread_detach(thread.assume_init()) };
    }
    true
}

extern "C" fn attr_thread_main(arg: *mut c_void) -> *mut c_void {
    guarded("callback thread", || {
        // SAFETY: `arg` is the Box made by spawn_attr_thread, handed over to this thread alone.
        let task = unsafe { Box::from_raw(arg.cast::<AttrTask>()) };
        // The signal mask is the one inherited from the dispatcher (all blocked), unless the
        // attributes carry their own (pthread_attr_setsigmask_np), which pthread_create applied.
        set_thread_name(b"aio-rs-cb-attr\0");
        // SAFETY: the application registered this SIGEV_THREAD callback with this value.
        unsafe { (task.function)(task.value) };
        if current_generation_is(task.gen) {
            ATTR_ALIVE.fetch_sub(1, Ordering::SeqCst);
            futex_wake(&ATTR_ALIVE, 1);
        }
    });
    ptr::null_mut()
}

// ---------------------------------------------------------------------------------------------
// Small OS helpers
// ---------------------------------------------------------------------------------------------

/// Runs `f`, turning a panic (a bug of this module) into an abort so that nothing unwinds into
/// the C frames of pthread's thread start.
fn guarded<F: FnOnce()>(what: &str, f: F) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        let msg = format!("aio-rs: panic in the {what} thread, aborting\n");
        // SAFETY: writing a valid buffer to fd 2.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        std::process::abort();
    }
}

/// Creates a detached thread with default attributes whose signal mask is full from its first
/// instruction (the caller's mask is fully blocked around pthread_create, then restored).
fn spawn_internal(entry: extern "C" fn(*mut c_void) -> *mut c_void, arg: usize) -> Result<(), c_int> {
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: every pointer refers to local storage of the right type; attr and the sigsets are
    // initialised by pthread_attr_init/sigfillset/pthread_sigmask before being read.
    unsafe {
        let rc = libc::pthread_attr_init(attr.as_mut_ptr());
        if rc != 0 {
            return Err(rc);
        }
        libc::pthread_attr_setdetachstate(attr.as_mut_ptr(), libc::PTHREAD_CREATE_DETACHED);
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr());
        let rc = libc::pthread_create(thread.as_mut_ptr(), attr.as_ptr(), entry, arg as *mut c_void);
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut());
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if rc == 0 {
            Ok(())
        } else {
            Err(rc)
        }
    }
}

fn block_all_signals() {
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set, which pthread_sigmask then reads.
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), ptr::null_mut());
    }
}

/// `name` must be NUL-terminated and at most 16 bytes including the NUL.
fn set_thread_name(name: &[u8]) {
    debug_assert!(name.len() <= 16 && name.last() == Some(&0));
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

fn raw_getpid() -> libc::pid_t {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getpid) as libc::pid_t }
}

fn raw_getuid() -> libc::uid_t {
    // SAFETY: getuid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getuid) as libc::uid_t }
}

/// FUTEX_WAIT (private) on `word` while it equals `expected`, up to `timeout` (None: forever).
/// Spurious returns are fine: every caller re-checks its condition.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts;
    let ts_ptr: *const libc::timespec = match timeout {
        Some(d) => {
            ts = libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: d.subsec_nanos() as c_long };
            &ts
        }
        None => ptr::null(),
    };
    // SAFETY: `word` is a live AtomicU32 (4-byte aligned), `ts_ptr` is NULL or a live timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as c_long,
            expected as c_long,
            ts_ptr,
            ptr::null::<u32>(),
            0 as c_long,
        );
    }
}

/// FUTEX_WAKE (private) up to `n` waiters of `word`. Async-signal-safe.
fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: `word` is a live AtomicU32; FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as c_long,
            n as c_long,
            ptr::null::<libc::timespec>(),
            ptr::null::<u32>(),
            0 as c_long,
        );
    }
}

/// Saves `errno` and restores it on drop (delivery may run inside a signal handler).
struct ErrnoGuard(c_int);

impl ErrnoGuard {
    fn save() -> Self {
        // SAFETY: __errno_location returns this thread's errno slot.
        ErrnoGuard(unsafe { *libc::__errno_location() })
    }
}

impl Drop for ErrnoGuard {
    fn drop(&mut self) {
        // SAFETY: as in `save`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, AtomicUsize};
    use std::sync::{Condvar, Mutex};
    use std::time::Instant;

    const LONG: Duration = Duration::from_secs(60);

    fn sev(notify: c_int, signo: c_int) -> SigEvent {
        // SAFETY: SigEvent is plain data; all-zero is a valid value.
        let mut s: SigEvent = unsafe { core::mem::zeroed() };
        s.sigev_notify = notify;
        s.sigev_signo = signo;
        s.sigev_value = SigVal { sival_ptr: 0x1234_5678 as *mut c_void };
        s
    }

    fn check(s: &SigEvent) -> Result<Notify, Errno> {
        // SAFETY: `s` is a live SigEvent.
        unsafe { Notify::from_sigevent(s) }
    }

    fn gettid() -> libc::pid_t {
        // SAFETY: gettid cannot fail.
        unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
    }

    unsafe fn noop_done(_: *mut ThreadJob) {}

    extern "C" fn noop_cb(_: SigVal) {}

    /// A counter with a condition variable: callbacks bump it, tests wait on it with a deadline.
    struct Count {
        n: Mutex<usize>,
        cv: Condvar,
    }

    impl Count {
        const fn new() -> Self {
            Count { n: Mutex::new(0), cv: Condvar::new() }
        }
        fn add(&self, d: isize) {
            let mut n = self.n.lock().unwrap();
            *n = (*n as isize + d) as usize;
            self.cv.notify_all();
        }
        fn get(&self) -> usize {
            *self.n.lock().unwrap()
        }
        /// Waits until `pred(count)` holds or `timeout` expires; returns whether it holds.
        fn wait_for(&self, timeout: Duration, pred: impl Fn(usize) -> bool) -> bool {
            let deadline = Instant::now() + timeout;
            let mut n = self.n.lock().unwrap();
            while !pred(*n) {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                n = self.cv.wait_timeout(n, deadline - now).unwrap().0;
            }
            true
        }
    }

    /// A gate the blocking callbacks wait on (bounded: they give up after LONG).
    struct Gate {
        open: Mutex<bool>,
        cv: Condvar,
    }

    impl Gate {
        const fn new() -> Self {
            Gate { open: Mutex::new(false), cv: Condvar::new() }
        }
        fn pass(&self) {
            let deadline = Instant::now() + LONG;
            let mut open = self.open.lock().unwrap();
            while !*open && Instant::now() < deadline {
                open = self.cv.wait_timeout(open, Duration::from_millis(500)).unwrap().0;
            }
        }
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    fn threads_named(name: &str) -> usize {
        let mut n = 0;
        for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
                if comm.trim_end() == name {
                    n += 1;
                }
            }
        }
        n
    }

    fn sigset_of(sig: c_int) -> libc::sigset_t {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), sig);
            set.assume_init()
        }
    }

    /// Signal info recorded by the fallback handler (if a signal lands on another thread).
    static HANDLER_SIGNO: AtomicI32 = AtomicI32::new(0);
    static HANDLER_CODE: AtomicI32 = AtomicI32::new(0);
    static HANDLER_PID: AtomicI32 = AtomicI32::new(0);
    static HANDLER_VALUE: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn record_handler(sig: c_int, info: *mut libc::siginfo_t, _: *mut c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let info = unsafe { &*(info as *const QueuedSigInfo) };
        HANDLER_CODE.store(info.si_code, Ordering::SeqCst);
        HANDLER_PID.store(info.si_pid, Ordering::SeqCst);
        // SAFETY: reading the sigval as a pointer is valid for any bits.
        HANDLER_VALUE.store(unsafe { info.si_value.sival_ptr } as usize, Ordering::SeqCst);
        HANDLER_SIGNO.store(sig, Ordering::SeqCst);
    }

    fn install_handler(sig: c_int, handler: usize) {
        // SAFETY: a zeroed sigaction with a valid handler address and flags.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = handler;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(sig, &sa, ptr::null_mut()), 0);
        }
    }

    /// (signo, code, pid, uid, value) of a received signal.
    type Seen = (c_int, c_int, libc::pid_t, libc::uid_t, usize);

    /// Waits (bounded) for `sig`, blocked in this thread, with sigtimedwait.
    fn sigwait_bounded(sig: c_int, timeout: Duration, also_handler: bool) -> Option<Seen> {
        let set = sigset_of(sig);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
            let ts = libc::timespec { tv_sec: 0, tv_nsec: 50_000_000 };
            // SAFETY: valid set, out-buffer and timeout.
            let r = unsafe { libc::sigtimedwait(&set, info.as_mut_ptr(), &ts) };
            if r == sig {
                // SAFETY: sigtimedwait filled the siginfo; QueuedSigInfo has its size and layout.
                let i = unsafe { &*(info.as_ptr() as *const QueuedSigInfo) };
                // SAFETY: reading the sigval as a pointer is valid for any bits.
                let v = unsafe { i.si_value.sival_ptr } as usize;
                return Some((i.si_signo, i.si_code, i.si_pid, i.si_uid, v));
            }
            if also_handler && HANDLER_SIGNO.load(Ordering::SeqCst) == sig {
                return Some((
                    sig,
                    HANDLER_CODE.load(Ordering::SeqCst),
                    HANDLER_PID.load(Ordering::SeqCst),
                    raw_getuid(),
                    HANDLER_VALUE.load(Ordering::SeqCst),
                ));
            }
        }
        None
    }

    // ---- validation ------------------------------------------------------------------------

    #[test]
    fn validation() {
        let einval = Err(Errno(libc::EINVAL));
        let rtmax = libc::SIGRTMAX();

        // SAFETY: NULL is allowed.
        assert!(unsafe { Notify::from_sigevent(ptr::null()) }.unwrap().is_none());
        assert!(check(&sev(SIGEV_NONE, 0)).unwrap().is_none());
        assert!(check(&sev(SIGEV_NONE, 9999)).unwrap().is_none());

        for bad in [3, 5, 99, -1, i32::MIN, SIGEV_THREAD_ID | SIGEV_THREAD] {
            assert_eq!(check(&sev(bad, libc::SIGUSR1)).map(|_| ()), einval, "sigev_notify {bad}");
        }

        for bad in [0, -1, rtmax + 1, 65, i32::MAX] {
            assert_eq!(check(&sev(SIGEV_SIGNAL, bad)).map(|_| ()), einval, "signo {bad}");
        }
        for good in [1, libc::SIGUSR1, libc::SIGRTMIN(), rtmax] {
            match check(&sev(SIGEV_SIGNAL, good)) {
                Ok(Notify::Signal { signo, value }) => {
                    assert_eq!(signo, good);
                    // SAFETY: reading the sigval as a pointer is valid for any bits.
                    assert_eq!(unsafe { value.sival_ptr } as usize, 0x1234_5678);
                }
                other => panic!("signo {good}: {other:?}"),
            }
        }

        let mut s = sev(SIGEV_THREAD, 0);
        assert_eq!(check(&s).map(|_| ()), einval, "NULL function");
        s.un.thread = crate::abi::SigevThread { function: Some(noop_cb), attribute: ptr::null_mut() };
        match check(&s) {
            Ok(Notify::Thread { function, attr, value }) => {
                assert_eq!(function as *const () as usize, noop_cb as *const () as usize);
                assert!(attr.is_null());
                // SAFETY: as above.
                assert_eq!(unsafe { value.sival_ptr } as usize, 0x1234_5678);
            }
            other => panic!("{other:?}"),
        }
        let fake_attr = 0x1000 as *mut libc::pthread_attr_t;
        s.un.thread.attribute = fake_attr;
        match check(&s) {
            Ok(Notify::Thread { attr, .. }) => assert_eq!(attr, fake_attr),
            other => panic!("{other:?}"),
        }

        // SIGEV_THREAD_ID
        let me = gettid();
        for bad_tid in [0, -1, -5, i32::MAX] {
            let mut s = sev(SIGEV_THREAD_ID, libc::SIGUSR1);
            s.un.tid = bad_tid;
            assert_eq!(check(&s).map(|_| ()), einval, "tid {bad_tid}");
        }
        // SAFETY: getppid cannot fail. The parent process is never a thread of ours.
        let parent = unsafe { libc::getppid() };
        if parent > 1 {
            let mut s = sev(SIGEV_THREAD_ID, libc::SIGUSR1);
            s.un.tid = parent;
            assert_eq!(check(&s).map(|_| ()), einval, "tid of the parent process");
        }
        for bad in [0, rtmax + 1] {
            let mut s = sev(SIGEV_THREAD_ID, bad);
            s.un.tid = me;
            assert_eq!(check(&s).map(|_| ()), einval, "thread-id signo {bad}");
        }
        let mut s = sev(SIGEV_THREAD_ID, libc::SIGUSR2);
        s.un.tid = me;
        match check(&s) {
            Ok(Notify::ThreadId { signo, tid, .. }) => {
                assert_eq!(signo, libc::SIGUSR2);
                assert_eq!(tid, me);
            }
            other => panic!("{other:?}"),
        }
        // Another live thread of the process, and the main thread (tid == pid).
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let _ = stop_rx.recv_timeout(LONG);
        });
        let other_tid = rx.recv_timeout(LONG).unwrap();
        for tid in [other_tid, raw_getpid()] {
            let mut s = sev(SIGEV_THREAD_ID, rtmax);
            s.un.tid = tid;
            assert!(matches!(check(&s), Ok(Notify::ThreadId { .. })), "tid {tid}");
        }
        stop_tx.send(()).unwrap();
        other.join().unwrap();

        // Unaligned input is accepted.
        let mut buf = [0u8; size_of::<SigEvent>() + 1];
        let s = sev(SIGEV_SIGNAL, libc::SIGUSR1);
        // SAFETY: copying the bytes of a SigEvent into a large enough buffer.
        unsafe {
            ptr::copy_nonoverlapping(&s as *const SigEvent as *const u8, buf.as_mut_ptr().add(1), size_of::<SigEvent>())
        };
        // SAFETY: the buffer holds a SigEvent at offset 1.
        let r = unsafe { Notify::from_sigevent(buf.as_ptr().add(1) as *const SigEvent) };
        assert!(matches!(r, Ok(Notify::Signal { .. })));
    }

    // ---- signals ---------------------------------------------------------------------------

    #[test]
    fn signal_to_self() {
        let sig = libc::SIGRTMIN() + 3;
        // A handler in case the signal lands on another (unblocking) thread of the test process.
        install_handler(sig, record_handler as *const () as usize);
        let set = sigset_of(sig);
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: valid sets.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr()) };

        let n = check(&sev(SIGEV_SIGNAL, sig)).unwrap();
        // SAFETY: errno slot of this thread.
        unsafe { *libc::__errno_location() = 4321 };
        // SAFETY: job is unused for signals.
        assert!(!unsafe { deliver(&n, ptr::null_mut(), noop_done) });
        // SAFETY: errno slot of this thread.
        assert_eq!(unsafe { *libc::__errno_location() }, 4321, "errno preserved");

        let seen = sigwait_bounded(sig, Duration::from_secs(10), true);
        // SAFETY: restoring the saved mask.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut()) };
        // SAFETY: getuid/getpid cannot fail.
        let (pid, uid) = unsafe { (libc::getpid(), libc::getuid()) };
        assert_eq!(seen, Some((sig, SI_ASYNCIO, pid, uid, 0x1234_5678)));
        // Exactly once: nothing else pending.
        assert_eq!(sigwait_bounded(sig, Duration::from_millis(100), false), None);
    }

    #[test]
    fn signal_to_thread_id() {
        let sig = libc::SIGRTMIN() + 4;
        install_handler(sig, record_handler as *const () as usize);
        let (tx, rx) = std::sync::mpsc::channel();
        let receiver = std::thread::spawn(move || {
            let set = sigset_of(sig);
            // SAFETY: valid set.
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()) };
            tx.send(gettid()).unwrap();
            (gettid(), sigwait_bounded(sig, Duration::from_secs(10), false))
        });
        let tid = rx.recv_timeout(LONG).unwrap();
        let mut s = sev(SIGEV_THREAD_ID, sig);
        s.un.tid = tid;
        let n = check(&s).unwrap();
        // SAFETY: job is unused for signals.
        assert!(!unsafe { deliver(&n, ptr::null_mut(), noop_done) });
        let (rtid, seen) = receiver.join().unwrap();
        assert_eq!(rtid, tid);
        // SAFETY: getuid/getpid cannot fail.
        let (pid, uid) = unsafe { (libc::getpid(), libc::getuid()) };
        assert_eq!(seen, Some((sig, SI_ASYNCIO, pid, uid, 0x1234_5678)));
        assert_ne!(HANDLER_SIGNO.load(Ordering::SeqCst), sig, "must not reach another thread");
    }

    // ---- SIGEV_THREAD ----------------------------------------------------------------------

    const FLOOD: usize = 10_000;

    #[repr(C)]
    struct Block {
        job: ThreadJob,
        index: usize,
        done: AtomicU32,
        runs: AtomicU32,
    }

    static FLOOD_RUNS: Count = Count::new();

    extern "C" fn flood_cb(v: SigVal) {
        // SAFETY: the value is the address of a leaked Block.
        let block = unsafe { &*(v.sival_ptr as *const Block) };
        block.runs.fetch_add(1, Ordering::SeqCst);
        FLOOD_RUNS.add(1);
    }

    unsafe fn flood_done(job: *mut ThreadJob) {
        // SAFETY: `job` is the first field of a repr(C) Block.
        let block = unsafe { &*(job as *const Block) };
        assert_eq!(block.runs.load(Ordering::SeqCst), 0, "on_done runs before the callback");
        block.done.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn thread_flood_exactly_once() {
        ensure_started().unwrap();
        let blocks: &'static [Block] = Box::leak(
            (0..FLOOD)
                .map(|index| Block { job: ThreadJob::new(), index, done: AtomicU32::new(0), runs: AtomicU32::new(0) })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let producers: Vec<_> = (0..4)
            .map(|p| {
                std::thread::spawn(move || {
                    for b in blocks.iter().skip(p).step_by(4) {
                        let n = Notify::Thread {
                            function: flood_cb,
                            value: SigVal { sival_ptr: b as *const Block as *mut c_void },
                            attr: ptr::null_mut(),
                        };
                        // SAFETY: each block is delivered once and lives forever.
                        assert!(unsafe { deliver(&n, &b.job as *const ThreadJob as *mut ThreadJob, flood_done) });
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        assert!(FLOOD_RUNS.wait_for(LONG, |n| n >= FLOOD), "only {} of {FLOOD} callbacks ran", FLOOD_RUNS.get());
        for b in blocks {
            assert_eq!(b.runs.load(Ordering::SeqCst), 1, "block {} ran a wrong number of times", b.index);
            assert_eq!(b.done.load(Ordering::SeqCst), 1, "block {} on_done count", b.index);
        }
        assert!(threads_named("aio-rs-cb") <= POOL_CAP);
        // (No exact count of "aio-rs-notify" here: a freshly cloned callback thread carries its
        // creator's name until its own prctl, so a concurrent test may briefly show two.)
    }

    static RECYCLE_RUNS: Count = Count::new();
    static RECYCLE_JOB: ThreadJob = ThreadJob::new();
    static RECYCLE_LEFT: AtomicU32 = AtomicU32::new(0);

    extern "C" fn recycle_cb(_: SigVal) {
        RECYCLE_RUNS.add(1);
    }

    /// on_done re-delivers with the same job: the block really is free once on_done runs.
    unsafe fn recycle_done(job: *mut ThreadJob) {
        if RECYCLE_LEFT.fetch_sub(1, Ordering::SeqCst) > 1 {
            let n = Notify::Thread { function: recycle_cb, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
            // SAFETY: the notifier just released the job.
            unsafe { deliver(&n, job, recycle_done) };
        }
    }

    #[test]
    fn thread_job_recycled_from_on_done() {
        ensure_started().unwrap();
        RECYCLE_LEFT.store(100, Ordering::SeqCst);
        let n = Notify::Thread { function: recycle_cb, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
        // SAFETY: the static job is not in use.
        assert!(unsafe { deliver(&n, &RECYCLE_JOB as *const ThreadJob as *mut ThreadJob, recycle_done) });
        assert!(RECYCLE_RUNS.wait_for(LONG, |n| n >= 100));
        assert_eq!(RECYCLE_LEFT.load(Ordering::SeqCst), 0);
    }

    static POOL_GATE: Gate = Gate::new();
    static POOL_RUNNING: Count = Count::new();
    static POOL_FINISHED: Count = Count::new();
    static POOL_MAX: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn pool_blocking_cb(_: SigVal) {
        POOL_RUNNING.add(1);
        POOL_MAX.fetch_max(POOL_RUNNING.get(), Ordering::SeqCst);
        POOL_GATE.pass();
        POOL_RUNNING.add(-1);
        POOL_FINISHED.add(1);
    }

    #[test]
    fn pool_is_bounded_and_grows() {
        ensure_started().unwrap();
        const N: usize = POOL_CAP + 8;
        let jobs: &'static [ThreadJob] =
            Box::leak((0..N).map(|_| ThreadJob::new()).collect::<Vec<_>>().into_boxed_slice());
        for j in jobs {
            let n =
                Notify::Thread { function: pool_blocking_cb, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
            // SAFETY: each job delivered once, lives forever.
            unsafe { deliver(&n, j as *const ThreadJob as *mut ThreadJob, noop_done) };
        }
        let reached = POOL_RUNNING.wait_for(Duration::from_secs(20), |n| n >= POOL_CAP);
        // Negative check (bounded): more than POOL_CAP must never run at once.
        let exceeded = POOL_RUNNING.wait_for(Duration::from_millis(200), |n| n > POOL_CAP);
        let pool_threads = threads_named("aio-rs-cb");
        POOL_GATE.open();
        assert!(reached, "pool did not grow to {POOL_CAP} concurrent callbacks");
        assert!(!exceeded);
        assert!(pool_threads <= POOL_CAP, "{pool_threads} pool threads");
        assert!(POOL_FINISHED.wait_for(LONG, |n| n >= N));
        assert!(POOL_MAX.load(Ordering::SeqCst) <= POOL_CAP);
    }

    static ATTR_SEEN_STACK: Count = Count::new();
    static ATTR_SEEN_NAME: Mutex<String> = Mutex::new(String::new());

    extern "C" fn attr_stack_cb(_: SigVal) {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut size: usize = 0;
        // SAFETY: pthread_getattr_np initialises attr, which is then read and destroyed.
        unsafe {
            assert_eq!(libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()), 0);
            libc::pthread_attr_getstacksize(attr.as_ptr(), &mut size);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
        }
        let comm = std::fs::read_to_string(format!("/proc/self/task/{}/comm", gettid())).unwrap_or_default();
        *ATTR_SEEN_NAME.lock().unwrap() = comm.trim_end().to_string();
        ATTR_SEEN_STACK.add(size as isize);
    }

    #[test]
    fn attr_stack_size_honoured() {
        ensure_started().unwrap();
        const STACK: usize = 3 * 1024 * 1024 + 64 * 1024;
        let attr: &'static mut libc::pthread_attr_t = Box::leak(Box::new(
            // SAFETY: zeroed storage, initialised by pthread_attr_init below.
            unsafe { core::mem::zeroed() },
        ));
        // SAFETY: attr is valid storage; joinable by default (the notifier must detach it).
        unsafe {
            assert_eq!(libc::pthread_attr_init(attr), 0);
            assert_eq!(libc::pthread_attr_setstacksize(attr, STACK), 0);
        }
        let mut s = sev(SIGEV_THREAD, 0);
        s.un.thread = crate::abi::SigevThread { function: Some(attr_stack_cb), attribute: attr };
        let n = check(&s).unwrap();
        let job: &'static ThreadJob = Box::leak(Box::new(ThreadJob::new()));
        // SAFETY: job unused, lives forever.
        assert!(unsafe { deliver(&n, job as *const ThreadJob as *mut ThreadJob, noop_done) });
        assert!(ATTR_SEEN_STACK.wait_for(LONG, |n| n > 0), "callback did not run");
        assert_eq!(ATTR_SEEN_STACK.get(), STACK);
        assert_eq!(*ATTR_SEEN_NAME.lock().unwrap(), "aio-rs-cb-attr");
    }

    static ATTR_GATE: Gate = Gate::new();
    static ATTR_RUNNING: Count = Count::new();
    static ATTR_FINISHED: Count = Count::new();
    static ATTR_MAX: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn attr_blocking_cb(_: SigVal) {
        ATTR_RUNNING.add(1);
        ATTR_MAX.fetch_max(ATTR_RUNNING.get(), Ordering::SeqCst);
        ATTR_GATE.pass();
        ATTR_RUNNING.add(-1);
        ATTR_FINISHED.add(1);
    }

    #[test]
    fn attr_threads_bounded() {
        ensure_started().unwrap();
        const N: usize = ATTR_CAP as usize + 6;
        let attr: &'static mut libc::pthread_attr_t = Box::leak(Box::new(
            // SAFETY: zeroed storage, initialised by pthread_attr_init below.
            unsafe { core::mem::zeroed() },
        ));
        // SAFETY: valid storage; a small stack keeps the test light.
        unsafe {
            assert_eq!(libc::pthread_attr_init(attr), 0);
            assert_eq!(libc::pthread_attr_setstacksize(attr, 256 * 1024), 0);
        }
        let attr: *mut libc::pthread_attr_t = attr;
        let jobs: &'static [ThreadJob] =
            Box::leak((0..N).map(|_| ThreadJob::new()).collect::<Vec<_>>().into_boxed_slice());
        for j in jobs {
            let n = Notify::Thread { function: attr_blocking_cb, value: SigVal { sival_int: 0 }, attr };
            // SAFETY: each job delivered once, lives forever.
            unsafe { deliver(&n, j as *const ThreadJob as *mut ThreadJob, noop_done) };
        }
        let reached = ATTR_RUNNING.wait_for(Duration::from_secs(20), |n| n >= ATTR_CAP as usize);
        let exceeded = ATTR_RUNNING.wait_for(Duration::from_millis(200), |n| n > ATTR_CAP as usize);
        let attr_threads = threads_named("aio-rs-cb-attr");
        ATTR_GATE.open();
        assert!(reached, "did not reach {ATTR_CAP} attribute threads");
        assert!(!exceeded);
        assert!(attr_threads <= ATTR_CAP as usize, "{attr_threads} attribute threads");
        assert!(ATTR_FINISHED.wait_for(LONG, |n| n >= N));
        assert!(ATTR_MAX.load(Ordering::SeqCst) <= ATTR_CAP as usize);
    }

    /// An attribute object pthread_create rejects: the callback still runs once, on the pool.
    static BADATTR_RUNS: Count = Count::new();
    extern "C" fn badattr_cb(_: SigVal) {
        BADATTR_RUNS.add(1);
    }

    #[test]
    fn unusable_attr_falls_back_to_pool() {
        ensure_started().unwrap();
        let attr: &'static mut libc::pthread_attr_t = Box::leak(Box::new(
            // SAFETY: zeroed storage, initialised by pthread_attr_init below.
            unsafe { core::mem::zeroed() },
        ));
        // SAFETY: valid storage; an empty CPU affinity set makes pthread_create fail (EINVAL).
        unsafe {
            assert_eq!(libc::pthread_attr_init(attr), 0);
            let cpus: libc::cpu_set_t = core::mem::zeroed();
            assert_eq!(libc::pthread_attr_setaffinity_np(attr, size_of::<libc::cpu_set_t>(), &cpus), 0);
        }
        // Premise of the test: pthread_create refuses these attributes.
        extern "C" fn never(_: *mut c_void) -> *mut c_void {
            ptr::null_mut()
        }
        let mut t = MaybeUninit::<libc::pthread_t>::uninit();
        // SAFETY: valid out-pointer and attributes.
        let rc = unsafe { libc::pthread_create(t.as_mut_ptr(), attr, never, ptr::null_mut()) };
        if rc == 0 {
            // SAFETY: the thread was created joinable.
            unsafe { libc::pthread_join(t.assume_init(), ptr::null_mut()) };
        }
        assert_ne!(rc, 0, "pthread_create accepted an empty affinity set");
        let job: &'static ThreadJob = Box::leak(Box::new(ThreadJob::new()));
        let n = Notify::Thread { function: badattr_cb, value: SigVal { sival_int: 0 }, attr };
        // SAFETY: job unused, lives forever.
        unsafe { deliver(&n, job as *const ThreadJob as *mut ThreadJob, noop_done) };
        assert!(BADATTR_RUNS.wait_for(LONG, |n| n >= 1));
        assert!(!BADATTR_RUNS.wait_for(Duration::from_millis(100), |n| n > 1));
    }

    static HANDLER_JOB: ThreadJob = ThreadJob::new();
    static HANDLER_RUNS: Count = Count::new();
    static HANDLER_DELIVERED: AtomicU32 = AtomicU32::new(0);

    extern "C" fn from_handler_cb(v: SigVal) {
        // SAFETY: the value was stored as an int.
        assert_eq!(unsafe { v.sival_int }, 77);
        HANDLER_RUNS.add(1);
    }

    extern "C" fn delivering_handler(_: c_int) {
        let n = Notify::Thread { function: from_handler_cb, value: SigVal { sival_int: 77 }, attr: ptr::null_mut() };
        // SAFETY: the static job is used by this single delivery.
        if unsafe { deliver(&n, &HANDLER_JOB as *const ThreadJob as *mut ThreadJob, noop_done) } {
            HANDLER_DELIVERED.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn thread_delivery_from_signal_handler() {
        ensure_started().unwrap();
        let sig = libc::SIGRTMIN() + 5;
        // SAFETY: zeroed sigaction with a plain handler.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = delivering_handler as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(sig, &sa, ptr::null_mut()), 0);
            // Thread-directed: the handler runs on this thread before pthread_kill returns.
            assert_eq!(libc::pthread_kill(libc::pthread_self(), sig), 0);
        }
        assert!(HANDLER_RUNS.wait_for(LONG, |n| n >= 1));
        assert_eq!(HANDLER_DELIVERED.load(Ordering::SeqCst), 1);
    }

    // ---- fork ------------------------------------------------------------------------------

    static CHILD_RUNS: AtomicU32 = AtomicU32::new(0);
    static CHILD_JOB: ThreadJob = ThreadJob::new();

    extern "C" fn child_cb(_: SigVal) {
        CHILD_RUNS.fetch_add(1, Ordering::SeqCst);
        futex_wake(&CHILD_RUNS, i32::MAX);
    }

    /// In a forked child (where the parent's notifier threads do not exist), after_fork_child lets
    /// the notifier start again and deliver.
    #[test]
    fn works_after_fork() {
        ensure_started().unwrap();
        // The child reports its result as one byte through a pipe; the parent polls it with a
        // timeout, so a hung child fails the test instead of stalling it.
        let mut fds = [0 as c_int; 2];
        // SAFETY: valid out-array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only uses this module, libc and raw syscalls, then _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            after_fork_child();
            let code: u8 = (|| {
                if ensure_started().is_err() {
                    return 3;
                }
                let n = Notify::Thread { function: child_cb, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
                // SAFETY: the static job is unused in the child.
                unsafe { deliver(&n, &CHILD_JOB as *const ThreadJob as *mut ThreadJob, noop_done) };
                for _ in 0..100 {
                    if CHILD_RUNS.load(Ordering::SeqCst) >= 1 {
                        return if threads_named("aio-rs-notify") == 1 { 0 } else { 4 };
                    }
                    futex_wait(&CHILD_RUNS, 0, Some(Duration::from_millis(100)));
                }
                2
            })();
            // SAFETY: writing one byte from a live buffer, then leaving the child without running
            // the parent's destructors.
            unsafe {
                libc::write(fds[1], &code as *const u8 as *const c_void, 1);
                libc::_exit(0);
            }
        }
        // SAFETY: closing our copy of the write end.
        unsafe { libc::close(fds[1]) };
        let mut pfd = libc::pollfd { fd: fds[0], events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 30_000) };
        let mut code = 0xffu8;
        if ready == 1 {
            // SAFETY: reading one byte into a live buffer.
            unsafe { libc::read(fds[0], &mut code as *mut u8 as *mut c_void, 1) };
        } else {
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child (it has written its byte or been killed) and closing.
        unsafe {
            libc::waitpid(pid, &mut status, 0);
            libc::close(fds[0]);
        }
        assert_eq!(ready, 1, "child timed out");
        assert_eq!(code, 0, "child result (2: callback not run, 3: start failed, 4: thread count)");
    }
}
