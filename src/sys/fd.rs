//! Descriptors: the library's eventfds, and what it asks about the caller's descriptors.

use core::ffi::c_int;

use crate::errno::Errno;

/// A non-blocking, close-on-exec eventfd of the library's own: a counter one thread signals and
/// another drains (or polls). It is never closed while the engine that made it lives; a forked
/// child closes the copies it inherited (`close`).
#[derive(Debug)]
pub(crate) struct EventFd(c_int);

impl EventFd {
    /// Not async-signal-safe only in the sense that it creates a descriptor.
    pub(crate) fn new() -> Result<EventFd, Errno> {
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            Err(Errno::last())
        } else {
            Ok(EventFd(fd))
        }
    }

    pub(crate) fn raw(&self) -> c_int {
        self.0
    }

    /// Adds one to the counter: wakes whoever polls it. Async-signal-safe (one `write`).
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, a live local, to our eventfd.
        unsafe { libc::write(self.0, (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter to zero (non-blocking: nothing happens if it already is).
    pub(crate) fn drain(&self) {
        let mut sink = 0u64;
        // SAFETY: reads at most 8 bytes into `sink`, a live local of 8 bytes.
        unsafe { libc::read(self.0, (&mut sink as *mut u64).cast(), 8) };
    }

    /// Closes the descriptor (a fork child closing what it inherited).
    ///
    /// # Safety
    /// Nothing uses this `EventFd` afterwards.
    pub(crate) unsafe fn close(&self) {
        close(self.0);
    }
}

/// Closes `fd`, ignoring errors (the descriptor is gone either way).
pub(crate) fn close(fd: c_int) {
    // SAFETY: close takes no pointers; the caller decided the number is its own.
    unsafe { libc::close(fd) };
}

/// Whether `fd` is an open descriptor (`fcntl(F_GETFD)` succeeds).
pub(crate) fn is_open(fd: c_int) -> bool {
    // SAFETY: F_GETFD takes no argument and reads no memory.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
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
    // SAFETY: `st` is a valid, writable stat buffer for the call.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::EBADF);
    }
    let format = st.st_mode & libc::S_IFMT;
    let ident = (st.st_dev as u64).rotate_left(32) ^ st.st_ino as u64 ^ (format as u64) << 48;
    Ok(FileId { ident, format })
}

/// `fcntl(F_GETFL)`: the open flags of `fd` (EBADF on failure).
pub(crate) fn status_flags(fd: c_int) -> Result<c_int, Errno> {
    // SAFETY: F_GETFL takes no argument and reads no memory.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        Err(Errno::EBADF)
    } else {
        Ok(fl)
    }
}
