//! Small shared-memory files (the `AIO_RS_STATS` counters): created exclusively (mode 0600, never
//! through a symbolic link, closed on exec), sized, and mapped `MAP_SHARED`, so that what is
//! stored in them outlives the process however it ends (`_exit`, a crash, SIGKILL). The mapping is
//! not inherited by fork children (`MADV_DONTFORK`): a child cannot even reach its parent's
//! counters. Every call is a raw system call.

use core::ffi::{c_int, c_long, CStr};
use core::ptr::NonNull;

use super::errno::ErrnoGuard;
use super::fd::close;
use crate::errno::Errno;

fn check(r: c_long) -> Result<c_long, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Creates `path` (which must not exist: `O_EXCL`, so never through a symbolic link either),
/// `len` bytes of zeros, and maps it shared. The descriptor is closed again (the mapping keeps the
/// file). If anything fails after the file was created, the file is removed again. Not
/// async-signal-safe only in that it creates a file; `errno` is preserved.
pub(crate) fn create_shared(path: &CStr, len: usize) -> Result<NonNull<u8>, Errno> {
    let _errno = ErrnoGuard::save();
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // Open until the `close` below: a fork in between would leave it open in the child
    // (`super::gate`).
    let _section = super::gate::section();
    // SAFETY: `path` is NUL-terminated and live for the call.
    let fd = check(unsafe {
        libc::syscall(libc::SYS_openat, libc::AT_FDCWD as c_long, path.as_ptr(), flags as c_long, 0o600 as c_long)
    })? as c_int;
    // SAFETY: ftruncate on our own new descriptor; no pointers.
    let sized = check(unsafe { libc::syscall(libc::SYS_ftruncate, fd as c_long, len as c_long) });
    let mapped = sized.and_then(|_| map(fd, len, libc::MAP_SHARED));
    close(fd);
    if mapped.is_err() {
        unlink(path);
    }
    mapped
}

/// `len` bytes of zeroed anonymous memory, shared with nobody (where the counters go when their
/// file cannot be created), not inherited by fork children.
pub(crate) fn map_anonymous(len: usize) -> Result<NonNull<u8>, Errno> {
    let _errno = ErrnoGuard::save();
    map(-1, len, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS)
}

fn map(fd: c_int, len: usize, flags: c_int) -> Result<NonNull<u8>, Errno> {
    // SAFETY: a new mapping chosen by the kernel (address NULL); it overlaps nothing of ours.
    let p = unsafe {
        libc::syscall(
            libc::SYS_mmap,
            0 as c_long,
            len as c_long,
            (libc::PROT_READ | libc::PROT_WRITE) as c_long,
            flags as c_long,
            fd as c_long,
            0 as c_long,
        )
    };
    if p == -1 {
        return Err(Errno::last());
    }
    // SAFETY: madvise on the mapping just made, of `len` bytes; it changes only what fork does.
    unsafe { libc::syscall(libc::SYS_madvise, p, len as c_long, libc::MADV_DONTFORK as c_long) };
    NonNull::new(p as *mut u8).ok_or(Errno(libc::ENOMEM))
}

/// Removes `path` (ignoring errors); `errno` is preserved.
pub(crate) fn unlink(path: &CStr) {
    let _errno = ErrnoGuard::save();
    // SAFETY: `path` is NUL-terminated and live for the call.
    unsafe { libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD as c_long, path.as_ptr(), 0 as c_long) };
}
