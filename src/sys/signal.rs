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
