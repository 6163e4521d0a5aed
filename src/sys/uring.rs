//! `io_uring_enter` on a ring descriptor of ours. The io-uring crate sets rings up and builds
//! their entries; the ring's number is ours (moved high and tagged, see `fd`), so entering goes
//! through here with that number rather than through the crate, which keeps the number the kernel
//! first gave.

use core::ffi::{c_int, c_void};

use crate::errno::Errno;

/// `io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz)`: how many entries the kernel
/// consumed, or the error (EINTR included; the caller decides).
///
/// # Safety
/// `arg` is NULL or points to `argsz` readable bytes of what `flags` says it is (a signal set, or
/// an `io_uring_getevents_arg` with `IORING_ENTER_EXT_ARG`), live for the call.
pub(crate) unsafe fn uring_enter(
    fd: c_int,
    to_submit: u32,
    min_complete: u32,
    flags: u32,
    arg: *const c_void,
    argsz: usize,
) -> Result<u32, Errno> {
    // SAFETY: the caller vouches for `arg`; the rings the kernel reads are its own mappings.
    let r = unsafe { libc::syscall(libc::SYS_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as u32)
    }
}
