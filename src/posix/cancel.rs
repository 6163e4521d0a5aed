//! `aio_cancel`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_cancel.html>.
//!
//! `AIO_CANCELED` is returned only for requests that will never touch the descriptor: those still
//! waiting in user space, those a worker is still polling readiness for, and those io_uring
//! confirms it removed before they ran. Cancelled requests complete with ECANCELED and still send
//! their notification. Requests already running report `AIO_NOTCANCELED`.

use core::ffi::c_int;

use crate::abi::{Aiocb, AIO_ALLDONE};
use crate::engine::{self, cb::Cb};
use crate::errno::{boundary, Errno};

/// Cancels `aiocbp`, or every request on `fildes` when `aiocbp` is NULL.
///
/// # Safety
/// `aiocbp` is NULL or points to a readable aiocb.
#[no_mangle]
pub unsafe extern "C" fn aio_cancel(fildes: c_int, aiocbp: *mut Aiocb) -> c_int {
    boundary(-1, || {
        if !crate::sys::is_open(fildes) {
            return Err(Errno::EBADF);
        }
        if !aiocbp.is_null() {
            // SAFETY: non-NULL aiocb (caller).
            if unsafe { (*aiocbp).aio_fildes } != fildes {
                return Err(Errno::EINVAL);
            }
        }
        let Some(eng) = engine::get() else { return Ok(AIO_ALLDONE) };
        Ok(if aiocbp.is_null() {
            engine::cancel_fd(eng, fildes)
        } else {
            // SAFETY: live aiocb (caller).
            unsafe { engine::cancel_one(eng, Cb(aiocbp)) }
        })
    })
}

/// The twin of [`aio_cancel`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_cancel`].
#[no_mangle]
pub unsafe extern "C" fn aio_cancel64(fildes: c_int, aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { aio_cancel(fildes, aiocbp) }
}
