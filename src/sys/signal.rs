//! Signals: queueing an AIO completion signal, and asking whether a thread id is ours.

use core::ffi::{c_int, c_long};
use core::mem::size_of;
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

use super::errno::ErrnoGuard;
use super::proc::{getpid, getuid};
use super::vec::raw;
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

/// The calling thread's alternate signal stack as (whether the thread runs on it now, its lowest
/// address, one past its highest), or None if it has none (or the kernel does not say). One
/// `sigaltstack` query; async-signal-safe.
pub(crate) fn alt_stack() -> Option<(bool, usize, usize)> {
    // SAFETY: an all-zero stack_t is a valid value of the structure, which the kernel fills.
    let mut ss: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: no new stack (NULL); `ss` is a live local the kernel writes.
    let r = unsafe { libc::syscall(libc::SYS_sigaltstack, core::ptr::null::<libc::stack_t>(), &mut ss as *mut _) };
    if r != 0 || ss.ss_flags & libc::SS_DISABLE != 0 {
        return None;
    }
    let lo = ss.ss_sp as usize;
    Some((ss.ss_flags & libc::SS_ONSTACK != 0, lo, lo.saturating_add(ss.ss_size)))
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

/// `pwritev2` flag (Linux 6.18, `RWF_NOSIGNAL`; not in the `libc` crate): a write to a pipe
/// without reader answers EPIPE and raises no SIGPIPE.
const RWF_NOSIGNAL: usize = 0x100;
/// Whether the kernel takes [`RWF_NOSIGNAL`]: 0 not known yet, 1 yes, 2 no.
static NOSIGNAL: AtomicU8 = AtomicU8::new(0);

/// A non-blocking write at the current position (a pipe) of the `cnt` iovecs at `iov`, made on
/// a program thread, which must not get the SIGPIPE a pipe without reader raises (glibc's threads,
/// like our workers, would have taken it): a count or `-errno` (EOPNOTSUPP for a file without a
/// non-blocking write, a FIFO). One `pwritev2(RWF_NOWAIT | RWF_NOSIGNAL)` where the kernel has
/// the flag; else the write inside [`without_sigpipe`] (two more calls). None (nothing written)
/// if the mask cannot be changed.
///
/// A kernel without the flag answers EOPNOTSUPP, as a FIFO does to `RWF_NOWAIT`: until a write
/// with the flag has been answered by the file itself (the kernel has it: from then on
/// EOPNOTSUPP is the file's), an EOPNOTSUPP is asked again without the flag, and a file that then
/// answers shows that the kernel lacks the flag, which is then never tried again. Only answers
/// the kernel gives after it has accepted the flags teach anything ([`file_answered`]): a write
/// to a read end (EBADF), of nothing (0) or from a bad iovec is refused or ended before the
/// flags are looked at.
///
/// # Safety
/// `iov` points to `cnt` readable entries, each describing memory readable for the call.
pub(crate) unsafe fn pipe_write_quiet(fd: c_int, iov: *const libc::iovec, cnt: usize) -> Option<isize> {
    let nowait = libc::RWF_NOWAIT as usize;
    let known = NOSIGNAL.load(Relaxed);
    if known != 2 {
        // SAFETY: the kernel reads `cnt` iovecs at `iov` and the memory they describe, readable
        // for the call (this function's contract); offset -1: the current position.
        let n = unsafe {
            raw(libc::SYS_pwritev2, [fd as usize, iov as usize, cnt, -1isize as usize, 0, nowait | RWF_NOSIGNAL])
        };
        if n != -(libc::EOPNOTSUPP as isize) {
            if known == 0 && file_answered(n) {
                NOSIGNAL.store(1, Relaxed);
            }
            return Some(n);
        }
        if known == 1 {
            return Some(n);
        }
    }
    // SAFETY: the kernel reads `cnt` iovecs at `iov` and the memory they describe, readable for
    // the call (this function's contract); offset -1: the current position.
    let n = without_sigpipe(|| unsafe {
        raw(libc::SYS_pwritev2, [fd as usize, iov as usize, cnt, -1isize as usize, 0, nowait])
    })?;
    if known == 0 && file_answered(n) {
        NOSIGNAL.store(2, Relaxed);
    }
    Some(n)
}

/// Whether a non-blocking pipe write's answer `n` came from the file, after the kernel accepted
/// the call's flags: bytes written, EAGAIN (full) or EPIPE (no reader).
fn file_answered(n: isize) -> bool {
    n > 0 || n == -(libc::EAGAIN as isize) || n == -(libc::EPIPE as isize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that set what was learnt of the flag run one at a time.
    static LEARNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

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

    /// `pipe_write_quiet`: writes to a pipe with a reader, and EPIPE without a SIGPIPE left
    /// pending or the mask changed once the reader is gone, whatever the kernel answers to
    /// `RWF_NOSIGNAL` (learnt, or taken as missing).
    #[test]
    fn a_quiet_pipe_write() {
        let _one = LEARNING.lock().unwrap_or_else(|e| e.into_inner());
        for learnt in [0u8, 2, 0] {
            NOSIGNAL.store(learnt, Relaxed);
            let mut p = [0 as c_int; 2];
            // SAFETY: `p` has room for two descriptors.
            assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
            let iov = libc::iovec { iov_base: b"xy".as_ptr() as *mut _, iov_len: 2 };
            // SAFETY: one iovec describing a live constant.
            assert_eq!(unsafe { pipe_write_quiet(p[1], &iov, 1) }, Some(2));
            // SAFETY: closing our own read end.
            unsafe { libc::close(p[0]) };
            // SAFETY: as above.
            assert_eq!(unsafe { pipe_write_quiet(p[1], &iov, 1) }, Some(-(libc::EPIPE as isize)));
            assert_eq!(pending() & PIPE_BIT, 0);
            // SAFETY: our own write end.
            unsafe { libc::close(p[1]) };
        }
        NOSIGNAL.store(0, Relaxed);
    }

    /// Answers given before the kernel looks at the flags teach nothing: a write of nothing (0)
    /// and a write to a read end (EBADF) leave the flag unknown; a write the pipe takes learns it.
    #[test]
    fn answers_before_the_flags_teach_nothing() {
        let _one = LEARNING.lock().unwrap_or_else(|e| e.into_inner());
        NOSIGNAL.store(0, Relaxed);
        let mut p = [0 as c_int; 2];
        // SAFETY: `p` has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        let empty = libc::iovec { iov_base: b"".as_ptr() as *mut _, iov_len: 0 };
        // SAFETY: one iovec of no bytes.
        assert_eq!(unsafe { pipe_write_quiet(p[1], &empty, 1) }, Some(0));
        assert_eq!(NOSIGNAL.load(Relaxed), 0, "a write of nothing");
        let iov = libc::iovec { iov_base: b"x".as_ptr() as *mut _, iov_len: 1 };
        // SAFETY: one iovec describing a live constant; p[0] is our read end.
        assert_eq!(unsafe { pipe_write_quiet(p[0], &iov, 1) }, Some(-(libc::EBADF as isize)));
        assert_eq!(NOSIGNAL.load(Relaxed), 0, "a write to a read end");
        // SAFETY: as above, to our write end.
        assert_eq!(unsafe { pipe_write_quiet(p[1], &iov, 1) }, Some(1));
        assert_ne!(NOSIGNAL.load(Relaxed), 0, "a write the pipe took teaches");
        for fd in p {
            // SAFETY: our own descriptors.
            unsafe { libc::close(fd) };
        }
        NOSIGNAL.store(0, Relaxed);
    }
}
