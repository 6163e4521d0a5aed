//! `aio_error`, `aio_return`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_error.html>,
//! <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_return.html>.
//!
//! Both are async-signal-safe: atomic loads, and at most a non-blocking attempt to reap the
//! request's kernel queue (a try-lock that never waits, no allocation).

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use crate::abi::Aiocb;
use crate::engine::{self, cb::meta, cb::Cb, cb::Route};
use crate::errno::{boundary, Errno};

/// The status of the request: EINPROGRESS, 0, an errno value, or ECANCELED. If the request is
/// still in progress on a kernel queue nobody is reaping, the caller reaps that queue itself,
/// so polling `aio_error` makes progress without any helper thread.
///
/// # Safety
/// `aiocbp` is NULL or points to a readable aiocb.
#[no_mangle]
pub unsafe extern "C" fn aio_error(aiocbp: *const Aiocb) -> c_int {
    boundary(-1, || {
        if aiocbp.is_null() {
            return Err(Errno::EINVAL);
        }
        let cb = Cb(aiocbp as *mut Aiocb);
        // SAFETY: non-NULL; the caller promises an aiocb.
        let e = unsafe { cb.error().load(Acquire) };
        if e != libc::EINPROGRESS {
            return Ok(e);
        }
        if let Some(eng) = engine::get() {
            // SAFETY: as above.
            unsafe {
                if cb.in_flight(eng.epoch) {
                    let m = cb.meta().load(Relaxed);
                    if Route::from_bits(m) != Route::Threads {
                        if let Some(q) = eng.queue_if_started((m & meta::QUEUE_MASK) as usize) {
                            q.reap(eng, false);
                        }
                    }
                    return Ok(cb.error().load(Acquire));
                }
            }
        }
        Ok(e)
    })
}

/// The twin of [`aio_error`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_error`].
#[no_mangle]
pub unsafe extern "C" fn aio_error64(aiocbp: *const Aiocb) -> c_int {
    // SAFETY: forwarded to the caller.
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
        if aiocbp.is_null() {
            return Err(Errno::EINVAL);
        }
        let cb = Cb(aiocbp);
        // SAFETY: non-NULL; the status load (acquire) orders the read of the return value.
        unsafe {
            let _ = cb.error().load(Acquire);
            Ok(cb.ret().load(Relaxed) as isize)
        }
    })
}

/// The twin of [`aio_return`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_return`].
#[no_mangle]
pub unsafe extern "C" fn aio_return64(aiocbp: *mut Aiocb) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe { aio_return(aiocbp) }
}
