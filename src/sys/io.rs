//! Data transfer and readiness on the caller's descriptors, for the worker threads. Results follow the kernel's convention: a byte count, or `-errno`. Every call is
//! a raw system call: glibc's wrappers of these are cancellation points.

use crate::errno::Errno;
use core::ffi::{c_int, c_long};

/// A system call's result as `count` or `-errno`.
fn res(r: c_long) -> isize {
    if r < 0 {
        -(Errno::last().0 as isize)
    } else {
        r as isize
    }
}

/// `pread(fd, buf, len, off)`.
///
/// # Safety
/// `buf` is valid for writes of `len` bytes for the duration of the call.
pub(crate) unsafe fn pread(fd: c_int, buf: *mut u8, len: usize, off: i64) -> isize {
    // SAFETY: the caller guarantees `buf` holds `len` writable bytes.
    res(unsafe { libc::syscall(libc::SYS_pread64, fd, buf, len, off) })
}

/// `pwrite(fd, buf, len, off)`.
///
/// # Safety
/// `buf` is valid for reads of `len` bytes for the duration of the call.
pub(crate) unsafe fn pwrite(fd: c_int, buf: *const u8, len: usize, off: i64) -> isize {
    // SAFETY: the caller guarantees `buf` holds `len` readable bytes.
    res(unsafe { libc::syscall(libc::SYS_pwrite64, fd, buf, len, off) })
}

/// `fsync(fd)`: 0 or `-errno`.
pub(crate) fn fsync(fd: c_int) -> isize {
    // SAFETY: fsync takes no pointers.
    res(unsafe { libc::syscall(libc::SYS_fsync, fd) })
}

/// `fdatasync(fd)`: 0 or `-errno`.
pub(crate) fn fdatasync(fd: c_int) -> isize {
    // SAFETY: fdatasync takes no pointers.
    res(unsafe { libc::syscall(libc::SYS_fdatasync, fd) })
}

/// One transfer at the descriptor's current position (a stream): `preadv2`/`pwritev2` with
/// offset -1 and, when `nowait`, `RWF_NOWAIT`, so that nothing waits for data or room.
///
/// # Safety
/// `buf` is valid for `len` bytes (writes when `read`, reads otherwise) for the call.
pub(crate) unsafe fn transfer(fd: c_int, read: bool, buf: *mut u8, len: usize, nowait: bool) -> isize {
    let iov = libc::iovec { iov_base: buf.cast(), iov_len: len };
    let flags = if nowait { libc::RWF_NOWAIT } else { 0 };
    let nr = if read { libc::SYS_preadv2 } else { libc::SYS_pwritev2 };
    // The offset travels as two longs (low, high); -1 in the low one with 0 in the high one is
    // offset -1 on a 64-bit kernel: "the current position".
    // SAFETY: `iov` describes the caller's buffer, valid for the call (see above).
    res(unsafe {
        libc::syscall(
            nr,
            fd as c_long,
            &iov as *const libc::iovec,
            1 as c_long,
            -1 as c_long,
            0 as c_long,
            flags as c_long,
        )
    })
}

/// `poll(fds, timeout_ms)` (a negative descriptor is ignored, a negative timeout waits forever).
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> c_int {
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfds for the call.
    unsafe { libc::syscall(libc::SYS_poll, fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) as c_int }
}
