//! Vector AIO, source-compatible with FreeBSD: `aio_readv`, `aio_writev`, `aio_read2` and
//! `aio_write2` (FreeBSD 14's names, signatures and flags). With glibc's `struct aiocb` the iovec
//! array travels in `aio_buf` and its count in `aio_nbytes` (FreeBSD's `aio_iov` and `aio_iovcnt`;
//! `include/aio_rs.h` maps those names); the intake checks the array (`intake::vector`).
//!
//! Vectored requests run on every engine (`IORING_OP_READV`/`WRITEV`, `IOCB_CMD_PREADV`/`PWRITEV`,
//! `preadv2`/`pwritev2` in the workers) and follow every rule of plain requests: stream and
//! O_APPEND ordering, a partial stream write continued from the entry and offset where it stopped,
//! cancellation, fsync barriers.

use core::ffi::c_int;

use super::{boundary, intake};
use crate::abi::{Aiocb, Aiocb64};
use crate::engine::{self, Op};
use crate::errno::Errno;
use crate::ext::{AIO_OP2_FOFFSET, AIO_OP2_VECTORED};

/// Checks `aiocbp` (as a vectored request if `vector`) and submits it as a read or a write.
///
/// # Safety
/// As [`aio_readv`] (or, without `vector`, as `aio_read`).
unsafe fn submit(aiocbp: *mut Aiocb, write: bool, vector: bool, file_pos: bool) -> c_int {
    boundary(-1, || {
        let op = match (write, vector) {
            (false, false) => Op::Read,
            (true, false) => Op::Write,
            (false, true) => Op::Readv,
            (true, true) => Op::Writev,
        };
        let (r, notify) = if vector {
            // SAFETY: `aiocbp` is NULL or points to a readable aiocb (our caller's contract).
            unsafe { intake::vector(aiocbp, op) }
        } else {
            // SAFETY: as above.
            unsafe { intake::request(aiocbp, op) }
        }?;
        // SAFETY: the C caller keeps the aiocb, and its buffer or iovec array, valid and
        // unmodified until it completes.
        unsafe { engine::submit_at(r, op, file_pos, &notify) }?;
        Ok(0)
    })
}

/// The flags of `aio_read2`/`aio_write2`: (vector, file position), or EINVAL for an unknown bit.
fn flags2(flags: c_int) -> Result<(bool, bool), Errno> {
    if flags & !(AIO_OP2_FOFFSET | AIO_OP2_VECTORED) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((flags & AIO_OP2_VECTORED != 0, flags & AIO_OP2_FOFFSET != 0))
}

/// Queues a read into the `aio_nbytes` buffers of the iovec array at `aio_buf`, at `aio_offset`
/// (ignored on non-seekable files), as `preadv(2)` would. At most `IOV_MAX` (1024) entries;
/// more, or a NULL array with a non-zero count, is EINVAL. A count of 0 completes with 0.
///
/// # Safety
/// `aiocbp` is NULL or points to an aiocb which, like its iovec array and the buffers it
/// describes, stays valid and unmodified until `aio_error` reports something other than
/// EINPROGRESS.
#[no_mangle]
pub unsafe extern "C" fn aio_readv(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: aio_readv's contract is submit's.
    unsafe { submit(aiocbp, false, true, false) }
}

/// Queues a write gathered from the iovec array at `aio_buf` (`aio_nbytes` entries), at
/// `aio_offset` (appended on O_APPEND files, in order), as `pwritev(2)` would.
///
/// # Safety
/// As [`aio_readv`].
#[no_mangle]
pub unsafe extern "C" fn aio_writev(aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: aio_writev's contract is submit's.
    unsafe { submit(aiocbp, true, true, false) }
}

/// `aio_read` with flags: `AIO_OP2_VECTORED` (the buffer is an iovec array, as `aio_readv`) and
/// `AIO_OP2_FOFFSET` (read at the descriptor's file position, which the read advances, in
/// submission order with the descriptor's other such requests; `aio_offset` is ignored). 0 is
/// `aio_read`; another bit is EINVAL.
///
/// # Safety
/// As [`aio_readv`].
#[no_mangle]
pub unsafe extern "C" fn aio_read2(aiocbp: *mut Aiocb, flags: c_int) -> c_int {
    match flags2(flags) {
        // SAFETY: aio_read2's contract is submit's.
        Ok((vector, file_pos)) => unsafe { submit(aiocbp, false, vector, file_pos) },
        Err(e) => boundary(-1, || Err(e)),
    }
}

/// `aio_write` with flags, as [`aio_read2`]: with `AIO_OP2_FOFFSET` the write goes to the file
/// position (to the end on an O_APPEND file).
///
/// # Safety
/// As [`aio_readv`].
#[no_mangle]
pub unsafe extern "C" fn aio_write2(aiocbp: *mut Aiocb, flags: c_int) -> c_int {
    match flags2(flags) {
        // SAFETY: aio_write2's contract is submit's.
        Ok((vector, file_pos)) => unsafe { submit(aiocbp, true, vector, file_pos) },
        Err(e) => boundary(-1, || Err(e)),
    }
}

/// The twin of [`aio_readv`] for `struct aiocb64`, as glibc pairs `aio_read64` with `aio_read`
/// (declared where `<aio.h>` defines `struct aiocb64`).
///
/// # Safety
/// As [`aio_readv`].
#[no_mangle]
#[cfg(target_os = "linux")] // cbindgen: only where <aio.h> has struct aiocb64 (see cbindgen.toml)
pub unsafe extern "C" fn aio_readv64(aiocbp: *mut Aiocb64) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_readv.
    unsafe { aio_readv(aiocbp) }
}

/// The twin of [`aio_writev`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_readv`].
#[no_mangle]
#[cfg(target_os = "linux")] // cbindgen: only where <aio.h> has struct aiocb64 (see cbindgen.toml)
pub unsafe extern "C" fn aio_writev64(aiocbp: *mut Aiocb64) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_writev.
    unsafe { aio_writev(aiocbp) }
}
