//! `aio_cancel`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_cancel.html>.
//!
//! `AIO_CANCELED` is returned only for requests that will never touch the descriptor: those still
//! waiting in user space, those a worker is still polling readiness for, and those io_uring
//! confirms it removed before they ran. Cancelled requests complete with ECANCELED and still send
//! their notification. Requests already running report `AIO_NOTCANCELED`.

use core::ffi::c_int;

use super::boundary;
use crate::abi::Aiocb;
use crate::engine::{self, ReqPtr};
use crate::errno::Errno;
use crate::sys;

/// Cancels `aiocbp`, or every request on `fildes` when `aiocbp` is NULL.
///
/// # Safety
/// `aiocbp` is NULL or points to a readable aiocb.
#[no_mangle]
pub unsafe extern "C" fn aio_cancel(fildes: c_int, aiocbp: *mut Aiocb) -> c_int {
    boundary(-1, || {
        if !sys::is_open(fildes) {
            return Err(Errno::EBADF);
        }
        let r = ReqPtr::new(aiocbp);
        // SAFETY: non-NULL aiocb (caller).
        if r.is_some() && unsafe { (*aiocbp).aio_fildes } != fildes {
            return Err(Errno::EINVAL);
        }
        // SAFETY: a non-NULL `aiocbp` points to a live aiocb for the call (our caller's contract).
        Ok(unsafe { engine::cancel(fildes, r) })
    })
}

/// The twin of [`aio_cancel`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_cancel`].
#[no_mangle]
pub unsafe extern "C" fn aio_cancel64(fildes: c_int, aiocbp: *mut Aiocb) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_cancel.
    unsafe { aio_cancel(fildes, aiocbp) }
}
