//! `aio_error`, `aio_return`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_error.html>,
//! <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_return.html>.
//!
//! Both are async-signal-safe: atomic loads, and at most a non-blocking attempt to reap the
//! request's kernel queue (a try-lock that never waits, no allocation).

use core::ffi::c_int;

use super::boundary;
use crate::abi::Aiocb;
use crate::engine::{self, ReqPtr};
use crate::errno::Errno;

/// The status of the request: EINPROGRESS, 0, an errno value, or ECANCELED. If the request is
/// still in progress on a kernel queue nobody is reaping, the caller reaps that queue itself,
/// so polling `aio_error` makes progress without any helper thread.
///
/// # Safety
/// `aiocbp` is NULL or points to a readable aiocb.
#[no_mangle]
pub unsafe extern "C" fn aio_error(aiocbp: *const Aiocb) -> c_int {
    // A final status is one atomic load, which cannot panic: read outside `boundary`, whose
    // frame (for catching a panic) would cost more than the load itself.
    if let Some(r) = ReqPtr::new(aiocbp as *mut Aiocb) {
        // SAFETY: non-NULL; the caller promises a readable aiocb.
        if let Some(e) = unsafe { engine::final_status(r) } {
            return e;
        }
    }
    // SAFETY: the caller's contract is `error_slow`'s.
    unsafe { error_slow(aiocbp) }
}

/// [`aio_error`] of a NULL aiocb or of a request found in progress (which may reap its queue).
///
/// # Safety
/// As [`aio_error`].
#[inline(never)]
unsafe fn error_slow(aiocbp: *const Aiocb) -> c_int {
    boundary(-1, || {
        let r = ReqPtr::new(aiocbp as *mut Aiocb).ok_or(Errno::EINVAL)?;
        // SAFETY: non-NULL; the caller promises a readable aiocb.
        Ok(unsafe { engine::status(r) })
    })
}

/// The twin of [`aio_error`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_error`].
#[no_mangle]
pub unsafe extern "C" fn aio_error64(aiocbp: *const Aiocb) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_error.
    unsafe { aio_error(aiocbp) }
}

/// The final return value of a completed request (as `read`/`write` would return it). Like glibc,
/// it reads the value whatever the state; call it once, after `aio_error` stops saying EINPROGRESS.
///
/// # Safety
/// `aiocbp` is NULL or points to a readable aiocb.
#[no_mangle]
pub unsafe extern "C" fn aio_return(aiocbp: *mut Aiocb) -> isize {
    boundary(-1, || {
        let r = ReqPtr::new(aiocbp).ok_or(Errno::EINVAL)?;
        // SAFETY: non-NULL; the caller promises a readable aiocb.
        Ok(unsafe { engine::return_value(r) })
    })
}

/// The twin of [`aio_return`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_return`].
#[no_mangle]
pub unsafe extern "C" fn aio_return64(aiocbp: *mut Aiocb) -> isize {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_return.
    unsafe { aio_return(aiocbp) }
}
