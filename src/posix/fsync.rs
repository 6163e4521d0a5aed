//! `aio_fsync`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_fsync.html>.

use core::ffi::c_int;

use super::{boundary, rw};
use crate::abi::Aiocb;
use crate::engine::Op;
use crate::errno::Errno;

/// Queues an `fsync` (`O_SYNC`) or `fdatasync` (`O_DSYNC`) that is issued only once every read and
/// write submitted earlier on the same fd is complete, whichever queue it went to; it holds back
/// nothing submitted after it (see `engine::fd::ordering`).
///
/// # Safety
/// `aiocbp` is NULL or points to an aiocb kept valid and unmodified until it completes.
#[no_mangle]
pub unsafe extern "C" fn aio_fsync(op: c_int, aiocbp: *mut Aiocb) -> c_int {
    let kind = match op {
        libc::O_SYNC => Op::Fsync,
        libc::O_DSYNC => Op::Fdatasync,
        _ => return boundary(-1, || Err(Errno::EINVAL)),
    };
    // SAFETY: aio_fsync's contract is rw::submit's.
    unsafe { rw::submit(aiocbp, kind) }
}

/// The `_FILE_OFFSET_BITS=64` twin of [`aio_fsync`].
///
/// # Safety
/// As [`aio_fsync`].
#[no_mangle]
pub unsafe extern "C" fn aio_fsync64(op: c_int, aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_fsync.
    unsafe { aio_fsync(op, aiocbp) }
}
