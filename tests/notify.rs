//! The tests of `src/notify/`, each case in a process of its own.
//!
//! The notify module keeps process-wide state (its threads, the intake list, the pool) and one
//! case forks, so the cases must not share a process with each other or with the library's unit
//! tests. This is a `harness = false` test: with no case named in `AIO_RS_NOTIFY_CASE` it is a
//! libtest-style runner (libtest-mimic: filters, `--list`, one reported test per case) whose every
//! trial runs this same executable again with the case's name set, under a timeout; with a name
//! set it runs that one case on its main thread and exits.
//!
//! The library's modules are compiled into this test crate (`#[path]` below) rather than exported
//! from the library, so that nothing internal has to become public.

// The library modules compiled in here are used only in part, and their `#[cfg(test)]` unit
// tests (compiled, as cargo sets `cfg(test)`, but not run: no libtest harness) import unused.
#![allow(dead_code, unused_imports)]

// The C thread body of callback threads (src/notify/runner.c) is compiled into the library by
// build.rs; linking the library brings it in.
use aio_rs as _;

#[path = "../src/abi.rs"]
mod abi;
#[path = "../src/errno.rs"]
mod errno;
#[path = "../src/notify/mod.rs"]
mod notify;
#[path = "../src/sys/mod.rs"]
mod sys;

use core::ffi::{c_int, c_void};
use core::mem::{size_of, MaybeUninit};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use abi::{SigEvent, SigVal, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, SI_ASYNCIO};
use errno::Errno;
use libtest_mimic::{Arguments, Failed, Trial};
use notify::{deliver, ensure_started, Notify, ThreadJob, ATTR_CAP, POOL_CAP, POOL_MAX};

/// Names the case a child process runs.
const CASE_VAR: &str = "AIO_RS_NOTIFY_CASE";
/// The most one case may take (a hang fails the case instead of stalling the suite).
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

const CASES: &[(&str, fn())] = &[
    ("validation", validation),
    ("from_user_and_validated", from_user_and_validated),
    ("signal_to_self", signal_to_self),
    ("signal_to_thread_id", signal_to_thread_id),
    ("thread_flood_exactly_once", thread_flood_exactly_once),
    ("thread_job_recycled_from_on_done", thread_job_recycled_from_on_done),
    ("pool_grows_past_blocked_callbacks", pool_grows_past_blocked_callbacks),
    ("pool_replaces_exited_threads", pool_replaces_exited_threads),
    ("attr_stack_size_honoured", attr_stack_size_honoured),
    ("attr_threads_bounded", attr_threads_bounded),
    ("unusable_attr_falls_back_to_pool", unusable_attr_falls_back_to_pool),
    ("thread_delivery_from_signal_handler", thread_delivery_from_signal_handler),
    ("works_after_fork", works_after_fork),
];

fn main() {
    if let Ok(name) = std::env::var(CASE_VAR) {
        let case = CASES.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no case named {name}"));
        (case.1)();
        return;
    }
    let args = Arguments::from_args();
    let trials = CASES.iter().map(|&(name, _)| Trial::test(name, move || run_in_child(name))).collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Runs case `name` in a child process; its output becomes the failure message.
fn run_in_child(name: &str) -> Result<(), Failed> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .env(CASE_VAR, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the case: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break Some(st);
        }
        if start.elapsed() >= CASE_TIMEOUT {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().map_err(|e| format!("output: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match status {
        Some(st) if st.success() => Ok(()),
        Some(st) => Err(format!("case failed ({st}):\n{text}").into()),
        None => Err(format!("case timed out after {} s:\n{text}", CASE_TIMEOUT.as_secs()).into()),
    }
}

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
    let info = unsafe { &*info };
    HANDLER_CODE.store(info.si_code, Ordering::SeqCst);
    // SAFETY: a queued signal's siginfo carries the _rt member (pid, uid, value).
    HANDLER_PID.store(unsafe { info.si_pid() }, Ordering::SeqCst);
    // SAFETY: a queued signal's siginfo carries the _rt member; a sigval read as a pointer is
    // valid for any bits.
    HANDLER_VALUE.store(unsafe { info.si_value().sival_ptr } as usize, Ordering::SeqCst);
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
            // SAFETY: sigtimedwait filled the siginfo of a queued signal (the _rt member).
            let (i, pid, uid, v) = unsafe {
                let i = info.assume_init();
                let (pid, uid, v) = (i.si_pid(), i.si_uid(), i.si_value().sival_ptr as usize);
                (i, pid, uid, v)
            };
            return Some((i.si_signo, i.si_code, pid, uid, v));
        }
        if also_handler && HANDLER_SIGNO.load(Ordering::SeqCst) == sig {
            return Some((
                sig,
                HANDLER_CODE.load(Ordering::SeqCst),
                HANDLER_PID.load(Ordering::SeqCst),
                // SAFETY: getuid cannot fail.
                unsafe { libc::getuid() },
                HANDLER_VALUE.load(Ordering::SeqCst),
            ));
        }
    }
    None
}

// ---- validation ------------------------------------------------------------------------

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
    s.un.thread = abi::SigevThread { function: Some(noop_cb), attribute: ptr::null_mut() };
    match check(&s) {
        Ok(Notify::Thread { function, attr, value }) => {
            assert_eq!(function as *const () as usize, noop_cb as *const () as usize);
            assert!(attr.is_null());
            // SAFETY: a sigval read as a pointer is valid for any bits.
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
    // SAFETY: getpid cannot fail.
    for tid in [other_tid, unsafe { libc::getpid() }] {
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
    assert!(threads_named("aio-rs-cb") <= POOL_MAX);
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
static POOL_MAX_SEEN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn pool_blocking_cb(_: SigVal) {
    POOL_RUNNING.add(1);
    POOL_MAX_SEEN.fetch_max(POOL_RUNNING.get(), Ordering::SeqCst);
    POOL_GATE.pass();
    POOL_RUNNING.add(-1);
    POOL_FINISHED.add(1);
}

/// Callbacks that block: the first POOL_CAP start at once; the others are not held back for
/// ever: the pool grows past POOL_CAP once every thread has been busy for a while, up to POOL_MAX.
fn pool_grows_past_blocked_callbacks() {
    ensure_started().unwrap();
    const N: usize = POOL_CAP + 8;
    let jobs: &'static [ThreadJob] = Box::leak((0..N).map(|_| ThreadJob::new()).collect::<Vec<_>>().into_boxed_slice());
    for j in jobs {
        let n = Notify::Thread { function: pool_blocking_cb, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
        // SAFETY: each job delivered once, lives forever.
        unsafe { deliver(&n, j as *const ThreadJob as *mut ThreadJob, noop_done) };
    }
    let reached = POOL_RUNNING.wait_for(Duration::from_secs(20), |n| n >= POOL_CAP);
    let all = POOL_RUNNING.wait_for(Duration::from_secs(20), |n| n >= N);
    let pool_threads = threads_named("aio-rs-cb");
    POOL_GATE.open();
    assert!(reached, "pool did not grow to {POOL_CAP} concurrent callbacks");
    assert!(all, "callbacks behind {POOL_CAP} blocked ones did not run ({} running)", POOL_RUNNING.get());
    assert!(pool_threads <= POOL_MAX, "{pool_threads} pool threads");
    assert!(POOL_FINISHED.wait_for(LONG, |n| n >= N));
    assert!(POOL_MAX_SEEN.load(Ordering::SeqCst) <= POOL_MAX);
}

static EXIT_RUNS: Count = Count::new();
static EXIT_AFTER: Count = Count::new();

/// Ends its thread with pthread_exit: a forced unwind, which may leave only a "C-unwind" Rust
/// frame (this one has nothing to drop); the pool's C thread body reports the end.
extern "C-unwind" fn exiting_cb_unwind(_: SigVal) {
    EXIT_RUNS.add(1);
    // SAFETY: ends this callback thread, which belongs to the pool and expects it.
    unsafe { libc::pthread_exit(ptr::null_mut()) };
}

extern "C" fn after_exit_cb(_: SigVal) {
    EXIT_AFTER.add(1);
}

/// Callbacks that end their thread with pthread_exit use no slot up: later ones still run.
fn pool_replaces_exited_threads() {
    ensure_started().unwrap();
    const N: usize = POOL_MAX + 8;
    let jobs: &'static [ThreadJob] =
        Box::leak((0..2 * N).map(|_| ThreadJob::new()).collect::<Vec<_>>().into_boxed_slice());
    for (i, j) in jobs.iter().enumerate() {
        // SAFETY: the same function with the C calling convention, called from C; only its
        // unwind behaviour differs, which pthread_exit needs.
        let exiting: extern "C" fn(SigVal) =
            unsafe { core::mem::transmute(exiting_cb_unwind as extern "C-unwind" fn(SigVal)) };
        let function = if i < N { exiting } else { after_exit_cb };
        let n = Notify::Thread { function, value: SigVal { sival_int: 0 }, attr: ptr::null_mut() };
        // SAFETY: each job delivered once, lives forever.
        unsafe { deliver(&n, j as *const ThreadJob as *mut ThreadJob, noop_done) };
    }
    assert!(EXIT_RUNS.wait_for(LONG, |n| n >= N), "{} of {N} exiting callbacks ran", EXIT_RUNS.get());
    assert!(EXIT_AFTER.wait_for(LONG, |n| n >= N), "{} of {N} later callbacks ran", EXIT_AFTER.get());
    assert!(threads_named("aio-rs-cb") <= POOL_MAX);
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
    s.un.thread = abi::SigevThread { function: Some(attr_stack_cb), attribute: attr };
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
    let jobs: &'static [ThreadJob] = Box::leak((0..N).map(|_| ThreadJob::new()).collect::<Vec<_>>().into_boxed_slice());
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
    sys::futex_wake(&CHILD_RUNS, i32::MAX);
}

/// In a forked child (where the parent's notifier threads do not exist), after_fork_child lets
/// the notifier start again and deliver.
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
        notify::after_fork_child();
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
                let _ = sys::futex_wait(&CHILD_RUNS, 0, Some(Duration::from_millis(100)));
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

/// `Notify::from_user` reads `SIGEV_SIGNAL` with signal 0 as "no notification";
/// `Notify::validated` reads back what was accepted.
fn from_user_and_validated() {
    let zero = sev(SIGEV_SIGNAL, 0);
    // SAFETY: a live SigEvent.
    assert!(unsafe { Notify::from_user(&zero) }.unwrap().is_none());
    assert!(Notify::validated(&zero).is_none());
    // SAFETY: NULL is allowed.
    assert!(unsafe { Notify::from_user(ptr::null()) }.unwrap().is_none());
    let s = sev(SIGEV_SIGNAL, libc::SIGUSR1);
    // SAFETY: a live SigEvent.
    assert!(matches!(unsafe { Notify::from_user(&s) }, Ok(Notify::Signal { signo, .. }) if signo == libc::SIGUSR1));
    assert!(matches!(Notify::validated(&s), Notify::Signal { signo, .. } if signo == libc::SIGUSR1));
    let mut t = sev(SIGEV_THREAD, 0);
    t.un.thread = abi::SigevThread { function: Some(noop_cb), attribute: ptr::null_mut() };
    assert!(matches!(Notify::validated(&t), Notify::Thread { attr, .. } if attr.is_null()));
    assert!(Notify::validated(&sev(SIGEV_NONE, 5)).is_none());
}
