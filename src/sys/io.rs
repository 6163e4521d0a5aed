//! Data transfer and readiness on the caller's descriptors, for the worker threads, and the
//! plain sleeps. Results follow the kernel's convention: a byte count, or `-errno`.

use core::ffi::c_int;
use core::time::Duration;

use super::time::timespec;
use crate::errno::Errno;

/// A system call's `ssize_t` result as `count` or `-errno`.
fn res(r: isize) -> isize {
    if r < 0 {
        -(Errno::last().0 as isize)
    } else {
        r
    }
}

/// `pread(fd, buf, len, off)`.
///
/// # Safety
/// `buf` is valid for writes of `len` bytes for the duration of the call.
pub(crate) unsafe fn pread(fd: c_int, buf: *mut u8, len: usize, off: i64) -> isize {
    // SAFETY: the caller guarantees `buf` holds `len` writable bytes.
    res(unsafe { libc::pread(fd, buf.cast(), len, off) })
}

/// `pwrite(fd, buf, len, off)`.
///
/// # Safety
/// `buf` is valid for reads of `len` bytes for the duration of the call.
pub(crate) unsafe fn pwrite(fd: c_int, buf: *const u8, len: usize, off: i64) -> isize {
    // SAFETY: the caller guarantees `buf` holds `len` readable bytes.
    res(unsafe { libc::pwrite(fd, buf.cast(), len, off) })
}

/// `fsync(fd)`: 0 or `-errno`.
pub(crate) fn fsync(fd: c_int) -> isize {
    // SAFETY: fsync takes no pointers.
    res(unsafe { libc::fsync(fd) } as isize)
}

/// `fdatasync(fd)`: 0 or `-errno`.
pub(crate) fn fdatasync(fd: c_int) -> isize {
    // SAFETY: fdatasync takes no pointers.
    res(unsafe { libc::fdatasync(fd) } as isize)
}

/// One transfer at the descriptor's current position (a stream): `preadv2`/`pwritev2` with
/// offset -1 and, when `nowait`, `RWF_NOWAIT`, so that nothing waits for data or room.
///
/// # Safety
/// `buf` is valid for `len` bytes (writes when `read`, reads otherwise) for the call.
pub(crate) unsafe fn transfer(fd: c_int, read: bool, buf: *mut u8, len: usize, nowait: bool) -> isize {
    let iov = libc::iovec { iov_base: buf.cast(), iov_len: len };
    let flags = if nowait { libc::RWF_NOWAIT } else { 0 };
    // SAFETY: `iov` describes the caller's buffer, valid for the call (see above).
    res(unsafe {
        if read {
            libc::preadv2(fd, &iov, 1, -1, flags)
        } else {
            libc::pwritev2(fd, &iov, 1, -1, flags)
        }
    })
}

/// `poll(fds, timeout_ms)` (a negative descriptor is ignored, a negative timeout waits forever).
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> c_int {
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfds for the call.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }
}

/// Sleeps until `timeout` passes (`Err(EAGAIN)`) or a signal handler runs (`Err(EINTR)`);
/// `None` sleeps until a signal.
pub(crate) fn sleep_until_signal(timeout: Option<Duration>) -> Result<(), Errno> {
    let ts = timeout.map(timespec);
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: ppoll with no descriptors only sleeps; `tsp` is NULL or points to a live timespec.
    let r = unsafe { libc::ppoll(core::ptr::null_mut(), 0, tsp, core::ptr::null()) };
    if r < 0 {
        Err(Errno::EINTR)
    } else {
        Err(Errno::EAGAIN)
    }
}
