//! Messages on standard error and small files, by raw system calls (glibc's `write`, `open`,
//! `read` and `close` are cancellation points, and `std`'s I/O calls them): each message line is
//! written whole, with one `write`, prefixed with the process id, so that lines from several
//! processes never interleave.

use core::ffi::{c_int, c_long, CStr};
use core::fmt;

use super::errno::ErrnoGuard;
use super::fd::close;
use super::proc::getpid;
use crate::errno::Errno;

/// Writes all of `bytes` to `fd` (retrying after a short write or EINTR).
pub(crate) fn write_all(fd: c_int, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice of `bytes.len()` bytes.
        let r = unsafe { libc::syscall(libc::SYS_write, fd as c_long, bytes.as_ptr(), bytes.len()) };
        if r < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                e => return Err(e),
            }
        }
        bytes = &bytes[(r as usize).min(bytes.len())..];
    }
    Ok(())
}

/// Writes one line, `aio-rs[PID]: message`, to standard error with one `write` (`errno` is
/// preserved). Not async-signal-safe (formats into a buffer).
pub(crate) fn log_line(message: fmt::Arguments<'_>) {
    let _errno = ErrnoGuard::save();
    let mut line = format!("aio-rs[{}]: {message}", getpid());
    line.push('\n');
    let _ = write_all(2, line.as_bytes());
}

/// Opens `path` for appending, without following a symbolic link in its last component and
/// closed on exec; creates it (mode 0666 less the umask) when `create`.
pub(crate) fn open_append(path: &CStr, create: bool) -> Result<c_int, Errno> {
    let mut flags = libc::O_WRONLY | libc::O_APPEND | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    if create {
        flags |= libc::O_CREAT;
    }
    // SAFETY: `path` is NUL-terminated and live for the call.
    let fd =
        unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD as c_long, path.as_ptr(), flags as c_long, 0o666) };
    if fd < 0 {
        Err(Errno::last())
    } else {
        Ok(fd as c_int)
    }
}

/// The number a small file such as `/proc/sys/fs/aio-max-nr` holds, or None.
pub(crate) fn read_number(path: &CStr) -> Option<u64> {
    let mut buf = [0u8; 32];
    let text = core::str::from_utf8(read_small(path, &mut buf)?).ok()?;
    text.trim().parse().ok()
}

/// The start of a small file such as `/proc/self/stat` (one `read` into `buf`), or None if it
/// cannot be read. `errno` is preserved.
pub(crate) fn read_small<'b>(path: &CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let _errno = ErrnoGuard::save();
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    // Open for two system calls: a fork in between would leave it open in the child.
    let _section = super::gate::section();
    // SAFETY: `path` is NUL-terminated and live for the call.
    let fd = unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD as c_long, path.as_ptr(), flags as c_long) };
    if fd < 0 {
        return None;
    }
    // SAFETY: reads at most `buf.len()` bytes into `buf`, a live slice.
    let n = unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) };
    close(fd as c_int);
    buf.get(..usize::try_from(n).ok()?)
}
