//! Descriptors: the library's eventfds, and what it asks about the caller's descriptors.

use core::ffi::c_int;

use super::errno::ErrnoGuard;
use crate::errno::Errno;

/// A non-blocking, close-on-exec eventfd of the library's own: a counter one thread signals and
/// another drains (or polls). It is never closed while the engine that made it lives; a forked
/// child closes the copies it inherited (`close`).
#[derive(Debug)]
pub(crate) struct EventFd(c_int);

impl EventFd {
    /// Not async-signal-safe only in the sense that it creates a descriptor.
    pub(crate) fn new() -> Result<EventFd, Errno> {
        // SAFETY: eventfd2 takes no pointers.
        let fd = unsafe { libc::syscall(libc::SYS_eventfd2, 0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            Err(Errno::last())
        } else {
            Ok(EventFd(fd as c_int))
        }
    }

    pub(crate) fn raw(&self) -> c_int {
        self.0
    }

    /// Adds one to the counter: wakes whoever polls it. Async-signal-safe (one `write`, by system
    /// call: never a cancellation point; `errno` is preserved).
    pub(crate) fn signal(&self) {
        let _errno = ErrnoGuard::save();
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, a live local, to our eventfd.
        unsafe { libc::syscall(libc::SYS_write, self.0, (&one as *const u64).cast::<u8>(), 8usize) };
    }

    /// Resets the counter to zero (non-blocking: nothing happens if it already is). One `read`, by
    /// system call; `errno` is preserved.
    pub(crate) fn drain(&self) {
        let _errno = ErrnoGuard::save();
        let mut sink = 0u64;
        // SAFETY: reads at most 8 bytes into `sink`, a live local of 8 bytes.
        unsafe { libc::syscall(libc::SYS_read, self.0, (&mut sink as *mut u64).cast::<u8>(), 8usize) };
    }

    /// Closes the descriptor (a fork child closing what it inherited).
    ///
    /// # Safety
    /// Nothing uses this `EventFd` afterwards.
    pub(crate) unsafe fn close(&self) {
        close(self.0);
    }
}

/// Closes `fd`, ignoring errors (the descriptor is gone either way). By system call: glibc's
/// `close` is a cancellation point.
pub(crate) fn close(fd: c_int) {
    let _errno = ErrnoGuard::save();
    // SAFETY: close takes no pointers; the caller decided the number is its own.
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

/// `fcntl(fd, cmd)` for a command that takes no argument, by system call (glibc's `fcntl` is a
/// cancellation point for some commands): the result, or -1 with `errno` set.
fn fcntl0(fd: c_int, cmd: c_int) -> c_int {
    // SAFETY: the commands used here take no argument and read or write no memory.
    unsafe { libc::syscall(libc::SYS_fcntl, fd, cmd) as c_int }
}

/// Whether `fd` is an open descriptor (`fcntl(F_GETFD)` succeeds).
pub(crate) fn is_open(fd: c_int) -> bool {
    fcntl0(fd, libc::F_GETFD) >= 0
}

/// What `fstat` says identifies the open file behind a descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FileId {
    /// Device, inode and type, mixed into one number.
    pub(crate) ident: u64,
    /// The `S_IFMT` bits of `st_mode`.
    pub(crate) format: libc::mode_t,
}

/// `fstat(fd)`: the identity of the file (EBADF for a bad descriptor, whatever fstat said).
pub(crate) fn file_id(fd: c_int) -> Result<FileId, Errno> {
    // SAFETY: all-zero is a valid `stat` (plain integers).
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer for the call (on x86_64 the kernel's `struct
    // stat` is libc's).
    if unsafe { libc::syscall(libc::SYS_fstat, fd, &mut st as *mut libc::stat) } != 0 {
        return Err(Errno::EBADF);
    }
    let format = st.st_mode & libc::S_IFMT;
    let ident = (st.st_dev as u64).rotate_left(32) ^ st.st_ino as u64 ^ (format as u64) << 48;
    Ok(FileId { ident, format })
}

/// `fcntl(F_GETFL)`: the open flags of `fd` (EBADF on failure).
pub(crate) fn status_flags(fd: c_int) -> Result<c_int, Errno> {
    let fl = fcntl0(fd, libc::F_GETFL);
    if fl < 0 {
        Err(Errno::EBADF)
    } else {
        Ok(fl)
    }
}
