//! Threads: the one way the library starts a thread.

use core::ffi::{c_int, c_void};
use core::mem::MaybeUninit;
use core::ptr;

use crate::abi::SigVal;
use crate::errno::Errno;

extern "C" {
    // glibc exports these; the libc crate does not declare them.
    fn pthread_attr_getdetachstate(attr: *const libc::pthread_attr_t, state: *mut c_int) -> c_int;
    fn pthread_setcancelstate(state: c_int, old: *mut c_int) -> c_int;
    // src/notify/runner.c (compiled by build.rs): the C thread body of callback threads.
    fn aio_rs_runner_main(arg: *mut c_void) -> *mut c_void;
}

/// What `src/notify/runner.c` runs: a thread that calls application callbacks from C frames only
/// (a callback may end the thread with `pthread_exit` or be cancelled; that unwinding must not
/// cross Rust frames). The layout is `struct aio_rs_runner` there. The functions are called from
/// C and must not unwind; `gone` is called exactly once, when the thread ends however it ends,
/// and is the last use of the runner.
#[repr(C)]
pub(crate) struct Runner {
    pub(crate) name: [u8; 16],
    /// Waits for the next callback: 1 with the function and value set, or 0 to end the thread.
    pub(crate) take: RunnerTake,
    /// The callback returned.
    pub(crate) done: extern "C" fn(ctx: *mut c_void),
    /// The thread ends.
    pub(crate) gone: extern "C" fn(ctx: *mut c_void),
    pub(crate) ctx: *mut c_void,
}

/// `Runner::take`.
pub(crate) type RunnerTake =
    extern "C" fn(ctx: *mut c_void, f: *mut Option<unsafe extern "C" fn(SigVal)>, v: *mut SigVal) -> c_int;

/// Starts a detached thread that runs `runner` in `src/notify/runner.c` (signals blocked as for
/// [`spawn`]). On failure `runner` was not used. Not async-signal-safe.
///
/// # Safety
/// `runner` points to a valid `Runner` kept valid until its `gone` runs, and `attr` is as for
/// [`spawn`].
pub(crate) unsafe fn spawn_runner(attr: ThreadAttr, runner: *mut Runner) -> Result<(), Errno> {
    // SAFETY: aio_rs_runner_main takes a `struct aio_rs_runner *`, which `runner` is (caller).
    unsafe { create(attr, aio_rs_runner_main, runner.cast()) }
}

/// glibc's `PTHREAD_CANCEL_DISABLE`.
const PTHREAD_CANCEL_DISABLE: c_int = 1;

/// Cancellation disabled for the calling thread until dropped (then restored as it was), around
/// the rare internal work that runs code of other libraries which may reach a glibc cancellation
/// point (starting the engine and a queue: the io-uring crate closes a descriptor when a ring
/// cannot be set up). The hot paths need none: everything they do is a raw system call.
pub(crate) struct NoCancel(c_int);

impl NoCancel {
    pub(crate) fn new() -> NoCancel {
        let mut old = 0;
        // SAFETY: writes the previous state into `old`, a live local.
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
        NoCancel(old)
    }
}

impl Drop for NoCancel {
    fn drop(&mut self) {
        let mut old = 0;
        // SAFETY: restores the state saved by `new`; writes into `old`, a live local. Restoring
        // "enabled" does not act on a pending cancel (only a cancellation point does).
        unsafe { pthread_setcancelstate(self.0, &mut old) };
    }
}

/// The attributes a new thread is created with.
pub(crate) enum ThreadAttr {
    /// Default attributes (the process's default stack size): for threads that run application
    /// callbacks.
    Default,
    /// A stack of this many bytes: for the library's own threads, which need little.
    Stack(usize),
    /// The application's attribute object (a `SIGEV_THREAD` notification's). The thread is
    /// detached after creation if the attributes say joinable.
    User(*mut libc::pthread_attr_t),
}

/// What the new thread receives.
struct Start {
    /// NUL-terminated, at most 15 bytes of name.
    name: [u8; 16],
    body: Box<dyn FnOnce() + Send>,
}

/// Starts a detached thread named `name` (truncated to 15 bytes) that runs `body`.
///
/// The thread starts with every signal blocked (the caller's mask is fully blocked around
/// `pthread_create`, then restored; `ThreadAttr::User` attributes may carry their own mask, which
/// `pthread_create` applies), so no signal meant for the application is ever delivered to a thread
/// of this library. A panic in `body` is a bug in aio-rs: the threads run forever and others depend
/// on them (a dead helper would leave completions unreaped), so the process is stopped with a
/// message rather than left with requests that hang without a word. Not async-signal-safe.
pub(crate) fn spawn(name: &str, attr: ThreadAttr, body: impl FnOnce() + Send + 'static) -> Result<(), Errno> {
    let start = Start { name: thread_name(name), body: Box::new(body) };
    let arg = Box::into_raw(Box::new(start));
    // SAFETY: thread_start takes the Box made here, which it then owns.
    let r = unsafe { create(attr, thread_start, arg.cast()) };
    if r.is_err() {
        // SAFETY: the thread was not created: the Box is still ours.
        drop(unsafe { Box::from_raw(arg) });
    }
    r
}

/// `name` truncated to 15 bytes and NUL-terminated.
pub(crate) fn thread_name(name: &str) -> [u8; 16] {
    let mut out = [0; 16];
    let n = name.len().min(15);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

/// Creates a detached thread running `start(arg)` with every signal blocked (see [`spawn`]).
///
/// # Safety
/// `start` may be handed `arg` on a new thread; on failure it was not.
unsafe fn create(
    attr: ThreadAttr,
    start: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
) -> Result<(), Errno> {
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    let mut own = MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: every pointer refers to local storage of the right type, initialised by
    // pthread_attr_init / sigfillset / pthread_sigmask before it is read; a `User` attribute
    // object is initialised (the application's promise for SIGEV_THREAD attributes). `arg` is
    // handed to the new thread on success only (the caller's contract).
    unsafe {
        let (attr_ptr, joinable) = match attr {
            ThreadAttr::User(user) => {
                let mut state: c_int = libc::PTHREAD_CREATE_DETACHED;
                let got = pthread_attr_getdetachstate(user, &mut state);
                (user as *const libc::pthread_attr_t, got == 0 && state == libc::PTHREAD_CREATE_JOINABLE)
            }
            ThreadAttr::Default | ThreadAttr::Stack(_) => {
                if libc::pthread_attr_init(own.as_mut_ptr()) != 0 {
                    return Err(Errno::EAGAIN);
                }
                libc::pthread_attr_setdetachstate(own.as_mut_ptr(), libc::PTHREAD_CREATE_DETACHED);
                if let ThreadAttr::Stack(size) = attr {
                    libc::pthread_attr_setstacksize(own.as_mut_ptr(), size);
                }
                (own.as_ptr(), false)
            }
        };
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr());
        // The same function pointer, typed as pthread_create wants it: pthread_create calls it
        // with `arg`, which is what the caller's contract makes sound.
        let start: extern "C" fn(*mut c_void) -> *mut c_void = core::mem::transmute(start);
        let rc = libc::pthread_create(thread.as_mut_ptr(), attr_ptr, start, arg);
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut());
        if attr_ptr == own.as_ptr() {
            libc::pthread_attr_destroy(own.as_mut_ptr());
        }
        if rc != 0 {
            return Err(Errno::EAGAIN);
        }
        if joinable {
            libc::pthread_detach(thread.assume_init());
        }
    }
    Ok(())
}

unsafe extern "C" fn thread_start(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the Box made by `spawn`, handed to this thread alone.
    let start = unsafe { Box::from_raw(arg.cast::<Start>()) };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes; `name` is one.
    unsafe { libc::prctl(libc::PR_SET_NAME, start.name.as_ptr() as libc::c_ulong, 0, 0, 0) };
    let Start { name, body } = *start;
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        super::log::log_line(format_args!(
            "internal error in thread {}; aborting",
            String::from_utf8_lossy(&name[..len])
        ));
        std::process::abort();
    }
    ptr::null_mut()
}

/// Gives the CPU to another thread (`sched_yield`).
pub(crate) fn yield_now() {
    // SAFETY: sched_yield takes no arguments.
    unsafe { libc::sched_yield() };
}

/// The calling thread's thread pointer, a word no two live threads share, read with one
/// instruction: on x86-64 the thread pointer is `%fs`'s base, and the first word of the block it
/// points to holds the thread pointer itself (the psABI's TLS rule: "the thread pointer points to
/// the TCB, whose first word is a pointer to itself"). A thread that ends may leave its value to a
/// new one, so it names a live thread, never a thread forever. 0 where there is no such register
/// word (other architectures): then it names no thread.
#[inline(always)]
pub(crate) fn thread_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let tp: usize;
        // SAFETY: a load of the word at %fs:0, which the x86-64 TLS ABI keeps mapped and equal to
        // the thread pointer for every thread of the process (glibc sets it up before the thread
        // runs any code); no other memory or register is touched.
        unsafe {
            core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags, pure))
        };
        tp
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}
