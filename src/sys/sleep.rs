//! The one sleep of a wait, as data: a system call number and its arguments. A wait decides what
//! to sleep on (`engine::wait`); the sleep is then made either here ([`SleepCall::run`], for the
//! library's own waits, which nobody may cancel) or by the C frame of `aio_suspend` and
//! `lio_listio` (`src/posix/frame.c`), which makes exactly this call with cancellation enabled.
//! The layout is shared with that C code: a `long` number and five `long` arguments.
//!
//! Only two sleeps exist, both chosen because the kernel restarts them after a stop and continue
//! (SIGSTOP/SIGCONT, a debugger attaching) and after any interruption that ran no handler, and
//! fails them with EINTR only when a handler ran: `ppoll` on pollable descriptors (an io_uring
//! ring, the kernel AIO eventfd) and `FUTEX_WAIT` on the engine's event counter.
//! `io_getevents` and `io_uring_enter(GETEVENTS)` fail with EINTR after a stop, so no wait
//! sleeps in them.

use core::ffi::c_long;
use core::ptr;
use core::sync::atomic::AtomicU32;

use crate::errno::Errno;

/// A sleeping system call: `syscall(nr, args...)`. The pointers among its arguments name memory
/// of whoever built it, which must stay live (and not move) until the call is made.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SleepCall {
    nr: c_long,
    args: [c_long; 5],
}

impl SleepCall {
    /// `ppoll(fds, ts)`: until one of `fds` is ready (none: only the time), `ts` passes (None: no
    /// limit) or a handler runs. The kernel writes the time left back into `ts` when it restarts
    /// the call.
    pub(crate) fn poll(fds: &mut [libc::pollfd], ts: Option<&mut libc::timespec>) -> SleepCall {
        let tsp = ts.map_or(ptr::null_mut(), |t| t as *mut libc::timespec);
        let fdp = if fds.is_empty() { ptr::null_mut() } else { fds.as_mut_ptr() };
        SleepCall { nr: libc::SYS_ppoll, args: [fdp as c_long, fds.len() as c_long, tsp as c_long, 0, 8] }
    }

    /// `futex(FUTEX_WAIT_PRIVATE)`: while `*word == expected`, up to `ts` (relative; None: no
    /// limit), or until a handler runs.
    pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, ts: Option<&libc::timespec>) -> SleepCall {
        let tsp = ts.map_or(ptr::null(), |t| t as *const libc::timespec);
        SleepCall {
            nr: libc::SYS_futex,
            args: [
                word.as_ptr() as c_long,
                (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as c_long,
                expected as c_long,
                tsp as c_long,
                0,
            ],
        }
    }

    /// Makes the call (not a cancellation point): its result, or the error.
    ///
    /// # Safety
    /// The memory the call names (descriptors, timespec, futex word) is live.
    pub(crate) unsafe fn run(&self) -> Result<isize, Errno> {
        let [a, b, c, d, e] = self.args;
        // SAFETY: a ppoll or futex wait whose pointers are live (the caller's promise); it writes
        // only the pollfds' `revents` and the timespec.
        let r = unsafe { libc::syscall(self.nr, a, b, c, d, e) };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(r as isize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_time_out_and_see_readiness() {
        let mut ts = crate::sys::time::timespec(core::time::Duration::from_millis(1));
        // SAFETY: no descriptors; `ts` is live.
        assert_eq!(unsafe { SleepCall::poll(&mut [], Some(&mut ts)).run() }, Ok(0));
        let word = AtomicU32::new(7);
        let ts = crate::sys::time::timespec(core::time::Duration::from_millis(1));
        // SAFETY: `word` and `ts` are live.
        assert_eq!(unsafe { SleepCall::futex_wait(&word, 7, Some(&ts)).run() }, Err(Errno(libc::ETIMEDOUT)));
        // SAFETY: as above; the value differs, so it returns at once.
        assert_eq!(unsafe { SleepCall::futex_wait(&word, 8, None).run() }, Err(Errno::EAGAIN));
        let ev = crate::sys::OwnEventFd::new();
        let fd = ev.ensure().unwrap();
        ev.signal();
        let mut fds = [libc::pollfd { fd, events: libc::POLLIN, revents: 0 }];
        // SAFETY: `fds` is live.
        assert_eq!(unsafe { SleepCall::poll(&mut fds, None).run() }, Ok(1));
        ev.close_inherited();
    }
}
