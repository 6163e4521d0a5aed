//! `aio_read`, `aio_write`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_read.html>,
//! <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_write.html>.

use core::ffi::c_int;

use super::{boundary, intake};
use crate::abi::Aiocb;
use crate::engine::{self, Op};
use crate::errno::Errno;
use crate::sys;

/// Checks `aiocbp` and submits it as `op`.
///
/// # Safety
/// As [`aio_read`].
#[inline(always)]
pub(super) unsafe fn submit(aiocbp: *mut Aiocb, op: Op) -> c_int {
    boundary(-1, || {
        // SAFETY: `aiocbp` is NULL or points to a readable aiocb (our caller's contract).
        let (r, notify) = unsafe { intake::request(aiocbp, op) }?;
        // aio_fsync refuses a bad descriptor at once, as glibc does (its one descriptor check at
        // submission); for reads and writes the kernel's answer becomes the request's result.
        // SAFETY: `aiocbp` was found non-NULL and aligned; the caller promises it readable.
        if op.is_sync() && !sys::is_open(unsafe { (*aiocbp).aio_fildes }) {
            return Err(Errno::EBADF);
        }
        // SAFETY: the C caller keeps the aiocb valid and unmodified until it completes.
        unsafe { engine::submit(r, op, &notify) }?;
        Ok(0)
    })
}

/// Queues a read of `aio_nbytes` bytes at `aio_offset` (ignored on non-seekable files).
///
/// # Safety
/// `aiocbp` is NULL or points to an aiocb whose buffer stays valid, and which is neither modified
/// nor freed, until `aio_error` reports something other than EINPROGRESS.
#[no_mangle]
pub unsafe extern "C" fn aio_read(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: aio_read's contract is submit's.
    unsafe { submit(aiocbp, Op::Read) }
}

/// The `_FILE_OFFSET_BITS=64` twin of [`aio_read`].
///
/// # Safety
/// As [`aio_read`].
#[no_mangle]
pub unsafe extern "C" fn aio_read64(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_read.
    unsafe { aio_read(aiocbp) }
}

/// Queues a write of `aio_nbytes` bytes at `aio_offset` (appended on O_APPEND files, in order).
///
/// # Safety
/// As [`aio_read`].
#[no_mangle]
pub unsafe extern "C" fn aio_write(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: aio_write's contract is submit's.
    unsafe { submit(aiocbp, Op::Write) }
}

/// The `_FILE_OFFSET_BITS=64` twin of [`aio_write`].
///
/// # Safety
/// As [`aio_read`].
#[no_mangle]
pub unsafe extern "C" fn aio_write64(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_write.
    unsafe { aio_write(aiocbp) }
}
