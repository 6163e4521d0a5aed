//! The readiness set of a worker pool (`engine::backend::threads::ready`): an epoll instance of
//! the library's own, and the non-blocking transfer on a socket. Raw system calls only (no glibc
//! wrapper that could be a cancellation point).
//!
//! The epoll descriptor is one of our own descriptors like the eventfds (`sys::fd`): moved out of
//! the low range, tagged and claimed for its owner, checked before every use, and made only by a
//! program thread inside an AIO call (`epoll_create1` takes the lowest free number, which the
//! program may be about to `dup2` onto). When the program takes its number (`closefrom`), the
//! instance is gone with everything registered in it: whoever finds it lost says so
//! ([`OwnEpoll::wanted`]) and the next AIO call makes a new one.

use core::ffi::c_int;

use super::errno::ErrnoGuard;
use super::fd::OwnFd;
use crate::errno::Errno;

/// An epoll instance of ours (see the module documentation): an [`OwnFd`], whose methods it has.
/// Async-signal-safe except [`OwnEpoll::ensure`].
#[derive(Debug)]
pub(crate) struct OwnEpoll(OwnFd);

impl core::ops::Deref for OwnEpoll {
    type Target = OwnFd;
    fn deref(&self) -> &OwnFd {
        &self.0
    }
}

impl OwnEpoll {
    /// None yet, and not wanted until the pool first needs one (see [`OwnFd::want`]).
    pub(crate) const fn new() -> Self {
        OwnEpoll(OwnFd::new(false))
    }

    /// Whether one was ever made (one load; it may have been lost since).
    pub(crate) fn made(&self) -> bool {
        self.0.made_any()
    }

    /// The current number, if it is still ours, with the generation of the instance (bumped each
    /// time one is made; read before the number, so it is never newer than the instance's).
    pub(crate) fn current_gen(&self) -> Option<(c_int, u32)> {
        let g = self.generation();
        self.current().map(|fd| (fd, g))
    }

    /// The current number, or a new instance if there was none or ours was lost; None if none
    /// can be made. Program threads only (see the module documentation).
    pub(crate) fn ensure(&self) -> Option<c_int> {
        // SAFETY: epoll_create1 takes no pointers.
        self.0.ensure_with(|| unsafe { libc::syscall(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC) })
    }
}

/// `epoll_ctl(ep, op, fd, {events, data})`. `errno` is preserved.
pub(crate) fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, events: u32, data: u64) -> Result<(), Errno> {
    let _errno = ErrnoGuard::save();
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event the kernel reads during the call (ignored for DEL).
    if unsafe { libc::syscall(libc::SYS_epoll_ctl, ep, op, fd, &mut ev as *mut libc::epoll_event) } < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Waits up to `timeout_ms` (-1: no limit) for events on `ep`: how many were written to `out` (0
/// on timeout or error, EINTR included: our threads block every signal, but a stop and continue
/// ends the wait). `errno` is preserved.
pub(crate) fn epoll_wait(ep: c_int, out: &mut [libc::epoll_event], timeout_ms: c_int) -> usize {
    let _errno = ErrnoGuard::save();
    let n = out.len().min(i32::MAX as usize);
    // SAFETY: `out` has room for `n` events, written by the kernel; no signal mask.
    let r = unsafe { libc::syscall(libc::SYS_epoll_pwait, ep, out.as_mut_ptr(), n, timeout_ms, 0usize, 8usize) };
    if r > 0 {
        r as usize
    } else {
        0
    }
}

/// One non-blocking transfer on a socket (`recvmsg`/`sendmsg` with `MSG_DONTWAIT`, which never
/// changes the open file's flags): a byte count or `-errno` (ENOTSOCK if `fd` is not a socket).
///
/// # Safety
/// `iov` points to `cnt` entries, each describing memory valid for the call (writable for a
/// read).
pub(crate) unsafe fn sock_transfer(fd: c_int, write: bool, iov: *const libc::iovec, cnt: usize) -> isize {
    // SAFETY: as this function (the caller's contract).
    unsafe { sock_msg(fd, write, iov, cnt, libc::MSG_DONTWAIT) }
}

/// [`sock_transfer`] of a write that raises no SIGPIPE (`MSG_NOSIGNAL`): a connection closed by the
/// peer answers EPIPE only. For a write made on a program thread.
///
/// # Safety
/// As [`sock_transfer`].
pub(crate) unsafe fn sock_send_quiet(fd: c_int, iov: *const libc::iovec, cnt: usize) -> isize {
    // SAFETY: as this function (the caller's contract).
    unsafe { sock_msg(fd, true, iov, cnt, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) }
}

/// # Safety
/// As [`sock_transfer`].
unsafe fn sock_msg(fd: c_int, write: bool, iov: *const libc::iovec, cnt: usize, flags: c_int) -> isize {
    // SAFETY: all-zero is a valid msghdr (no name, no control data).
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = iov as *mut libc::iovec;
    msg.msg_iovlen = cnt;
    let nr = if write { libc::SYS_sendmsg } else { libc::SYS_recvmsg };
    // SAFETY: `msg` is live for the call and describes the caller's iovecs (see above).
    let r = unsafe { libc::syscall(nr, fd, &mut msg as *mut libc::msghdr, flags) };
    if r < 0 {
        -(Errno::last().0 as isize)
    } else {
        r as isize
    }
}

#[cfg(test)]
mod tests {
    use super::super::fd::close;
    use super::*;

    /// Our epoll instance is high, tagged and claimed; a number taken from us is not ours and is
    /// made again; a socket transfer never waits.
    #[test]
    fn own_epoll_and_socket_transfer() {
        let e = OwnEpoll::new();
        assert!(!e.wanted());
        let fd = e.ensure().unwrap();
        assert!(fd > 2 && e.current() == Some(fd));
        let mut s = [0 as c_int; 2];
        // SAFETY: `s` has room for the two descriptors.
        assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, s.as_mut_ptr()) }, 0);
        epoll_ctl(fd, libc::EPOLL_CTL_ADD, s[0], (libc::EPOLLIN | libc::EPOLLONESHOT) as u32, 7).unwrap();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert_eq!(epoll_wait(fd, &mut evs, 0), 0);
        let mut b = [0u8; 4];
        let iov = libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: 4 };
        // SAFETY: one entry describing `b`, live and writable.
        assert_eq!(unsafe { sock_transfer(s[0], false, &iov, 1) }, -(libc::EAGAIN as isize));
        let out = *b"ping";
        let oiov = libc::iovec { iov_base: out.as_ptr() as *mut _, iov_len: 4 };
        // SAFETY: one entry describing `out`, live.
        assert_eq!(unsafe { sock_transfer(s[1], true, &oiov, 1) }, 4);
        assert_eq!(epoll_wait(fd, &mut evs, 0), 1);
        let data = evs[0].u64;
        assert_eq!(data, 7);
        assert_eq!(epoll_wait(fd, &mut evs, 0), 0, "one shot");
        // SAFETY: as above.
        assert_eq!(unsafe { sock_transfer(s[0], false, &iov, 1) }, 4);
        assert_eq!(&b, b"ping");
        // SAFETY: fcntl F_GETFL reads no memory.
        assert_eq!(unsafe { libc::fcntl(s[0], libc::F_GETFL) } & libc::O_NONBLOCK, 0, "flags untouched");
        // The program takes our number.
        // SAFETY: dup2 takes no pointers; it replaces our instance by the socket.
        assert_eq!(unsafe { libc::dup2(s[1], fd) }, fd);
        assert_eq!(e.current(), None);
        assert!(e.wanted());
        let again = e.ensure().unwrap();
        assert!(e.current() == Some(again) && again != fd);
        e.close_inherited();
        for d in [s[0], s[1], fd] {
            close(d);
        }
    }
}
