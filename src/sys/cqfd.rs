//! The completion queues' descriptors (`notify::cq`): an epoll instance, an eventfd, and the
//! checks that a descriptor number is still the library's own before it is used. Raw system calls
//! only (no glibc wrapper that could be a cancellation point); all async-signal-safe.
//!
//! # Knowing a descriptor is ours
//!
//! A program may close any descriptor number, or close a whole range (`closefrom`), and the
//! number may then be given to a file of the program's. Before the library writes to, reads from
//! or waits on one of its own descriptors, it checks:
//!
//! [`mark`] tags an open file the library made with a signal number (`F_SETSIG`, which on an
//! eventfd or an epoll instance has no other effect: neither supports `O_ASYNC`), and [`marked`]
//! checks the tag: a file the program opened has 0 there unless the program set that exact value
//! on it, which it has no reason to do. One `fcntl`, cheaper than asking `kcmp` (which a seccomp
//! filter may forbid besides) whether two numbers are the same file. A tag belongs to the open
//! file, so the program's number of a queue and the library's duplicate of it carry the same one.
//!
//! A check and the use that follows are two system calls: a program that closes the number from
//! another thread between them can still win. Closing our numbers while we use them is not
//! something a program does on purpose (only `closefrom`, typically once at start-up), so the
//! window is accepted; it is documented in aio_rs(7).

use core::ffi::c_int;
use core::time::Duration;

use super::time::timespec;
use crate::errno::Errno;

/// The `F_SETSIG` value that tags the library's own queue descriptors (`SIGRTMAX - 1`). Not
/// `sys::fd`'s tag for our private files: the program holds a queue's epoll instance too, under
/// its own number (asserted different there). The library's numbers of a queue are made as every
/// number of ours is, at a high number above 2 (`sys::dup_high`).
pub(super) const MARK: c_int = 63;

/// `fcntl` commands the libc crate does not name (Linux values).
const F_SETSIG: c_int = 10;
const F_GETSIG: c_int = 11;

fn check(r: libc::c_long) -> Result<c_int, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as c_int)
    }
}

/// A new epoll instance (close-on-exec).
pub(crate) fn epoll_new() -> Result<c_int, Errno> {
    // SAFETY: epoll_create1 takes no pointers.
    check(unsafe { libc::syscall(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC) })
}

/// A new non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd_new() -> Result<c_int, Errno> {
    // SAFETY: eventfd2 takes no pointers.
    check(unsafe { libc::syscall(libc::SYS_eventfd2, 0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })
}

/// Tags the open file of `fd` as the library's (see the module documentation).
pub(crate) fn mark(fd: c_int) -> Result<(), Errno> {
    // SAFETY: F_SETSIG takes an integer argument and reads no memory.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, F_SETSIG, MARK) }).map(drop)
}

/// Whether `fd` is an open file the library tagged with [`mark`].
pub(crate) fn marked(fd: c_int) -> bool {
    // SAFETY: F_GETSIG takes no argument and reads no memory.
    fd >= 0 && unsafe { libc::syscall(libc::SYS_fcntl, fd, F_GETSIG) } == MARK as libc::c_long
}

/// Adds `fd` to epoll instance `ep` for `events`, with `data` as its tag.
pub(crate) fn epoll_add(ep: c_int, fd: c_int, events: u32, data: u64) -> Result<(), Errno> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event the kernel reads during the call.
    check(unsafe { libc::syscall(libc::SYS_epoll_ctl, ep, libc::EPOLL_CTL_ADD, fd, &mut ev) }).map(drop)
}

/// Takes the events ready on `ep` without waiting (the tags of at most 16; edge-triggered ones are
/// consumed by this).
pub(crate) fn epoll_take(ep: c_int, tags: &mut [u64; 16]) -> usize {
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
    // SAFETY: `evs` has room for 16 events, written by the kernel; timeout 0, no signal mask.
    let r = unsafe { libc::syscall(libc::SYS_epoll_pwait, ep, evs.as_mut_ptr(), 16, 0, 0usize, 8usize) };
    let n = if r > 0 { r as usize } else { 0 };
    for (t, e) in tags.iter_mut().zip(&evs[..n]) {
        *t = e.u64;
    }
    n
}

/// Adds one to eventfd `fd` (makes it readable).
pub(crate) fn efd_signal(fd: c_int) {
    let one: u64 = 1;
    // SAFETY: writes the 8 bytes of `one`, a live local.
    unsafe { libc::syscall(libc::SYS_write, fd, &one as *const u64, 8usize) };
}

/// Resets eventfd `fd` to zero; whether it was non-zero.
pub(crate) fn efd_drain(fd: c_int) -> bool {
    let mut v: u64 = 0;
    // SAFETY: reads at most 8 bytes into `v`, a live local.
    unsafe { libc::syscall(libc::SYS_read, fd, &mut v as *mut u64, 8usize) == 8 }
}

/// Waits until `fd` is readable (`Ok(true)`), `timeout` passes (`Ok(false)`), or a signal handler
/// runs (`Err(EINTR)`). `ppoll`: restarted by the kernel after a stop, not after a handler.
pub(crate) fn wait_readable(fd: c_int, timeout: Option<Duration>) -> Result<bool, Errno> {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ts = timeout.map(timespec);
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: one pollfd, live for the call; `tsp` is NULL or points to `ts`; no signal mask.
    let r = unsafe { libc::syscall(libc::SYS_ppoll, &mut p as *mut libc::pollfd, 1, tsp, 0usize, 8usize) };
    match r {
        r if r > 0 => Ok(true),
        0 => Ok(false),
        _ => match Errno::last() {
            Errno::EINTR => Err(Errno::EINTR),
            e => Err(e),
        },
    }
}

/// Closes `fd` (a raw `close`; the number is gone afterwards whatever it returns).
pub(crate) fn close_raw(fd: c_int) {
    // SAFETY: close takes no pointers; the caller checked the number is its own.
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_identity() {
        let ep = epoll_new().unwrap();
        let efd = eventfd_new().unwrap();
        let dup = super::super::fd::dup_high(ep).unwrap();
        assert!(dup > 2);
        assert!(!marked(ep) && !marked(efd) && !marked(-1));
        mark(ep).unwrap();
        assert!(marked(ep) && marked(dup), "a mark belongs to the open file");
        assert!(!marked(efd));
        // The two tags are told apart: a queue's descriptor is not one of our private files, and
        // a private file of ours is not a queue.
        assert!(!super::super::fd::is_own(ep));
        super::super::fd::tag_own(efd, super::super::fd::new_owner());
        assert!(super::super::fd::is_own(efd) && !marked(efd));
        epoll_add(dup, efd, libc::EPOLLIN as u32, 7).unwrap();
        let mut tags = [0u64; 16];
        assert_eq!(epoll_take(ep, &mut tags), 0);
        assert_eq!(wait_readable(ep, Some(Duration::ZERO)), Ok(false));
        efd_signal(efd);
        assert_eq!(wait_readable(ep, Some(Duration::from_secs(1))), Ok(true));
        assert_eq!((epoll_take(ep, &mut tags), tags[0]), (1, 7));
        assert!(efd_drain(efd));
        assert!(!efd_drain(efd));
        assert_eq!(epoll_take(ep, &mut tags), 0);
        close_raw(dup);
        assert!(!marked(dup));
        close_raw(ep);
        close_raw(efd);
    }
}
