//! Signals: queueing an AIO completion signal, and asking whether a thread id is ours.

use core::ffi::{c_int, c_long};
use core::mem::size_of;

use super::errno::ErrnoGuard;
use super::proc::{getpid, getuid};
use crate::abi::{SigVal, SI_ASYNCIO};

/// `siginfo_t` as the kernel lays it out for queued signals (the `_rt` member).
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

/// Queues `signo` with `si_code = SI_ASYNCIO` and `value` to this process, or to its thread
/// `tid` (`rt_sigqueueinfo` / `rt_tgsigqueueinfo`). Errors (a full queue, a thread that has
/// exited) are ignored: there is nobody to tell. Async-signal-safe; `errno` is preserved.
pub(crate) fn queue_asyncio_signal(tid: Option<libc::pid_t>, signo: c_int, value: SigVal) {
    let _errno = ErrnoGuard::save();
    let pid = getpid();
    let info = QueuedSigInfo {
        si_signo: signo,
        si_errno: 0,
        si_code: SI_ASYNCIO,
        _pad: 0,
        si_pid: pid,
        si_uid: getuid(),
        si_value: value,
        _rest: [0; 12],
    };
    let info: *const QueuedSigInfo = &info;
    // SAFETY: `info` points to a fully initialised siginfo of the kernel's size on this stack
    // frame, which outlives the call; the other arguments are plain numbers.
    unsafe {
        match tid {
            None => libc::syscall(libc::SYS_rt_sigqueueinfo, pid as c_long, signo as c_long, info),
            Some(tid) => {
                libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid as c_long, tid as c_long, signo as c_long, info)
            }
        }
    };
}

/// Whether `tid` is a thread of this process: `tgkill(getpid(), tid, 0)` fails with ESRCH
/// otherwise. `errno` is preserved.
pub(crate) fn thread_in_process(tid: libc::pid_t) -> bool {
    let _errno = ErrnoGuard::save();
    // SAFETY: tgkill with signal 0 sends nothing; it only checks existence and permission.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, getpid() as c_long, tid as c_long, 0 as c_long) };
    r == 0 || crate::errno::Errno::last().0 != libc::ESRCH
}

/// The highest real-time signal number.
pub(crate) fn sigrtmax() -> c_int {
    libc::SIGRTMAX()
}

/// SIGPIPE's bit in a kernel signal set.
const PIPE_BIT: u64 = 1 << (libc::SIGPIPE - 1);

/// Runs `write`, a write to a pipe made on a program thread (which returns a count or `-errno`),
/// so that the thread never gets the SIGPIPE it raises when the pipe has no reader: SIGPIPE is
/// blocked on this thread for the call (`rt_sigprocmask`, one call each way, none back if it was
/// blocked already), and after an EPIPE answer the signal it left pending is taken back
/// (`rt_sigtimedwait` with a zero timeout, which takes a signal pending for this thread before
/// one pending for the process), unless one was pending before (the kernel then queued none).
/// None (nothing written) if the mask cannot be changed.
///
/// The write's own SIGPIPE is the only one discarded: a SIGPIPE sent to the process meanwhile is
/// not taken (this thread's own pending set is looked at first), except in the one case where the
/// program had SIGPIPE blocked with one already pending for the process and none for the thread:
/// then the write's signal is left pending, as if the program had written itself.
pub(crate) fn without_sigpipe(write: impl FnOnce() -> isize) -> Option<isize> {
    let set: u64 = PIPE_BIT;
    let mut old: u64 = 0;
    // SAFETY: `set` and `old` are kernel signal sets (8 bytes, the size passed) live for the call.
    let r = unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &set as *const u64, &mut old as *mut u64, 8 as c_long)
    };
    if r != 0 {
        return None;
    }
    let was_blocked = old & PIPE_BIT != 0;
    let mut pending: u64 = 0;
    // SAFETY: `pending` is a kernel signal set of the size passed, live for the call.
    let pending_before = was_blocked
        && unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending as *mut u64, 8 as c_long) } == 0
        && pending & PIPE_BIT != 0;
    let n = write();
    if n == -(libc::EPIPE as isize) && !pending_before {
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `set` and `zero` are live for the call; no siginfo is asked for (NULL).
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &set as *const u64,
                core::ptr::null_mut::<libc::siginfo_t>(),
                &zero as *const libc::timespec,
                8 as c_long,
            )
        };
    }
    if !was_blocked {
        // SAFETY: `old` is the mask read above, live for the call.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &old as *const u64,
                core::ptr::null_mut::<u64>(),
                8 as c_long,
            )
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's pending signals (its own and the process's).
    fn pending() -> u64 {
        let mut p: u64 = 0;
        // SAFETY: `p` is a kernel signal set of the size passed.
        assert_eq!(unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut p as *mut u64, 8 as c_long) }, 0);
        p
    }

    /// A write to a pipe without reader answers EPIPE and leaves no SIGPIPE pending, whether the
    /// thread had SIGPIPE blocked or not; the thread's mask is as before.
    #[test]
    fn a_write_to_a_closed_pipe_leaves_no_sigpipe() {
        let mut p = [0 as c_int; 2];
        // SAFETY: `p` has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: closing our own read end.
        unsafe { libc::close(p[0]) };
        let write = || {
            // SAFETY: one byte of a live local.
            let r = unsafe { libc::write(p[1], b"x".as_ptr().cast(), 1) };
            if r < 0 {
                -(crate::errno::Errno::last().0 as isize)
            } else {
                r as isize
            }
        };
        let mask = |how: c_int, set: u64| {
            let mut old: u64 = 0;
            // SAFETY: kernel signal sets of the size passed, live for the call.
            unsafe {
                libc::syscall(libc::SYS_rt_sigprocmask, how, &set as *const u64, &mut old as *mut u64, 8 as c_long)
            };
            old
        };
        let before = mask(libc::SIG_BLOCK, 0);
        assert_eq!(without_sigpipe(write), Some(-(libc::EPIPE as isize)));
        assert_eq!(pending() & PIPE_BIT, 0);
        assert_eq!(mask(libc::SIG_BLOCK, 0), before, "mask restored");
        mask(libc::SIG_BLOCK, PIPE_BIT);
        assert_eq!(without_sigpipe(write), Some(-(libc::EPIPE as isize)));
        assert_eq!(pending() & PIPE_BIT, 0);
        assert_ne!(mask(libc::SIG_BLOCK, 0) & PIPE_BIT, 0, "still blocked, as the caller had it");
        mask(libc::SIG_SETMASK, before);
        // SAFETY: our own write end.
        unsafe { libc::close(p[1]) };
    }
}
