//! The sleeping frame of `aio_suspend` and `lio_listio(LIO_WAIT)`, the two AIO functions POSIX
//! makes cancellation points.
//!
//! When a thread is cancelled while it sleeps, glibc unwinds its stack. That unwind must never
//! pass a Rust frame: `catch_unwind` (our panic boundary) aborts the process on it, and a forced
//! unwind through Rust frames is undefined behaviour. So the sleep happens in a C frame
//! (`src/posix/frame.c`) with no Rust frame between it and the program: the exported
//! `aio_suspend`/`lio_listio` are naked trampolines (`trampoline!`) that jump to the C function
//! with a pointer to [`OPS`] in the next argument register, and the C function calls back into
//! Rust only for steps that return before it sleeps:
//!
//! * `begin` checks the arguments, submits (`lio_listio`), and either ends the call or writes a
//!   `Wait` into the frame (C stack memory of [`Frame`]'s size) and the one system call to sleep
//!   in ([`SleepCall`], what `engine::wait` decides);
//! * the C frame makes that call with asynchronous cancellation, inside `pthread_cleanup_push`;
//! * `after` hands the call's outcome to the wait, which reaps and either ends the call or asks
//!   for another sleep;
//! * if the thread is cancelled in the sleep, the cleanup handler `abandon` drops the `Wait`,
//!   which lets go of the reap lock, watch counts and event-counter registration it holds (and a
//!   list's group reference); the requests stay in flight and any thread can reap them.
//!
//! The trampolines rely on the x86_64 System V calling convention: `aio_suspend` has three
//! arguments, so `rcx` carries the fourth (`&OPS`); `lio_listio` has four, so `r8` carries the
//! fifth.

use core::ffi::{c_int, c_long, c_void};
use core::mem::{align_of, size_of};
use core::ptr::addr_of_mut;

use super::boundary;
use crate::abi::{Aiocb, SigEvent};
use crate::engine::{Step, Wait};
use crate::errno::Errno;
use crate::sys::SleepCall;

/// Returned by `begin`/`after`: the frame holds a wait and its next sleep.
const SLEEP: c_int = 1;

/// The frame, in C stack memory of `OPS.frame_words` words. `call` must stay first: the C code
/// reads it there.
#[repr(C)]
pub(super) struct Frame {
    call: SleepCall,
    wait: Option<Wait<'static>>,
}

const _: () = assert!(align_of::<Frame>() <= 8);

/// Rust's side of the frame, in the layout `struct ops` of frame.c expects.
#[repr(C)]
pub(super) struct Ops {
    frame_words: usize,
    /// Where a request's status word is in an aiocb, for the C frame's look at the listed
    /// statuses before it calls `begin` (what `engine::final_status` reads).
    status_offset: usize,
    suspend_begin: unsafe extern "C" fn(*mut Frame, *const *const Aiocb, c_int, *const libc::timespec) -> c_int,
    lio_begin: unsafe extern "C" fn(*mut Frame, c_int, *const *mut Aiocb, c_int, *mut SigEvent) -> c_int,
    after: unsafe extern "C" fn(*mut Frame, c_long, c_int) -> c_int,
    abandon: unsafe extern "C" fn(*mut c_void),
}

pub(super) static OPS: Ops = Ops {
    frame_words: size_of::<Frame>().div_ceil(8),
    status_offset: crate::engine::STATUS_OFFSET,
    suspend_begin: super::suspend::begin,
    lio_begin: super::listio::begin,
    after,
    abandon,
};

// The C frames (src/posix/frame.c, built by build.rs). Reached only by a jump from the
// trampolines, never called from Rust.
extern "C" {
    pub(super) fn aio_rs_suspend_frame(
        list: *const *const Aiocb,
        nent: c_int,
        timeout: *const libc::timespec,
        ops: *const Ops,
    ) -> c_int;
    pub(super) fn aio_rs_lio_frame(
        mode: c_int,
        list: *const *mut Aiocb,
        nent: c_int,
        sig: *mut SigEvent,
        ops: *const Ops,
    ) -> c_int;
}

/// Defines an exported C entry point as a jump to a C frame, with `&OPS` loaded into the given
/// argument register (the first one the entry point does not use).
macro_rules! trampoline {
    ($(#[$doc:meta])* $name:ident ($($arg:ident: $ty:ty),*) => $frame:ident, $reg:literal) => {
        $(#[$doc])*
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> c_int {
            core::arch::naked_asm!(
                concat!("lea ", $reg, ", [rip + {ops}]"),
                "jmp {frame}",
                ops = sym $crate::posix::frame::OPS,
                frame = sym $crate::posix::frame::$frame,
            )
        }
    };
}
pub(super) use trampoline;

impl Frame {
    /// Initialises the frame at `f` (no wait yet).
    ///
    /// # Safety
    /// `f` points to `OPS.frame_words` writable, 8-byte aligned words, which stay in place while
    /// the frame is used.
    pub(super) unsafe fn init<'a>(f: *mut Frame) -> &'a mut Frame {
        // SAFETY: writable and aligned (caller); only `wait` needs a value (`call` is written
        // before the C code reads it).
        unsafe {
            addr_of_mut!((*f).wait).write(None);
            &mut *f
        }
    }

    /// Takes `w` and makes its first step.
    pub(super) fn start(&mut self, w: Wait<'static>) -> Result<c_int, Errno> {
        self.wait = Some(w);
        self.step(None)
    }

    fn step(&mut self, slept: Option<Result<isize, Errno>>) -> Result<c_int, Errno> {
        let step = match &mut self.wait {
            Some(w) => w.step(slept),
            None => return Err(Errno::EIO),
        };
        match step {
            Step::Sleep(call) => {
                self.call = call;
                Ok(SLEEP)
            }
            Step::Done(r) => {
                self.wait = None;
                r.map(|()| 0)
            }
        }
    }
}

/// The outcome of the sleep (`rc`, or -1 and `err`): the wait's next step.
///
/// # Safety
/// `f` is a frame that `begin` or `after` left with SLEEP.
unsafe extern "C" fn after(f: *mut Frame, rc: c_long, err: c_int) -> c_int {
    // SAFETY: an initialised frame in place (caller).
    let frame = unsafe { &mut *f };
    let slept = if rc < 0 { Err(Errno(err)) } else { Ok(rc as isize) };
    let r = boundary(-1, || frame.step(Some(slept)));
    if r != SLEEP {
        // Only after a panic can a wait be left here: let go of what it holds.
        frame.wait = None;
    }
    r
}

/// The cleanup handler of a sleep the thread was cancelled in: drops the wait, which lets go of
/// everything it holds (nothing here can unwind: the release is atomics, a futex wake and an
/// eventfd write; a panic would abort, being in an `extern "C"` function).
///
/// # Safety
/// `f` is a frame that `begin` or `after` left with SLEEP.
unsafe extern "C" fn abandon(f: *mut c_void) {
    // SAFETY: an initialised frame in place (caller).
    unsafe { (*f.cast::<Frame>()).wait = None };
}
