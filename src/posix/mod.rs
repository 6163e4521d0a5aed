//! The C entry points, one POSIX family per module. Each entry point is a thin shell: it runs its
//! body inside [`crate::errno::boundary`] (the one place where an `Err` becomes `-1`/`errno` and
//! where a panic is stopped before it can unwind into C) and calls into the engine.
//!
//! The `*64` twins exist because programs built with `-D_FILE_OFFSET_BITS=64` call them; on
//! x86_64 `struct aiocb64` is the same structure, so each twin calls the same body.

pub mod cancel;
pub mod fsync;
pub mod init;
pub mod listio;
pub mod rw;
pub mod status;
pub mod suspend;

use crate::abi::{Aiocb, SigEvent, AIO_PRIO_DELTA_MAX};
use crate::engine::{self, cb::Cb, cb::Op, Batch};
use crate::errno::Errno;
use crate::notify::Notify;

/// Checks the fields every request shares and reads its notification.
///
/// # Safety
/// `p` is NULL or points to a readable aiocb.
pub(crate) unsafe fn check(p: *mut Aiocb) -> Result<(Cb, Notify), Errno> {
    if p.is_null() || (p as usize) % core::mem::align_of::<Aiocb>() != 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and aligned; the caller promises it is an aiocb.
    let a = unsafe { &*p };
    if !(0..=AIO_PRIO_DELTA_MAX).contains(&a.aio_reqprio) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the sigevent is inside the aiocb.
    let notify = unsafe { notify_of_user(&a.aio_sigevent) }?;
    Ok((Cb(p), notify))
}

/// Reads a caller's sigevent (see `Notify::from_user`).
///
/// # Safety
/// `sev` is NULL or readable.
pub(crate) unsafe fn notify_of_user(sev: *const SigEvent) -> Result<Notify, Errno> {
    // SAFETY: forwarded.
    unsafe { Notify::from_user(sev) }
}

/// Submits one request from the calling thread.
///
/// # Safety
/// `p` is NULL or points to an aiocb the caller keeps valid until it completes.
pub(crate) unsafe fn submit_one(p: *mut Aiocb, op: Op) -> Result<libc::c_int, Errno> {
    // SAFETY: forwarded.
    let (cb, notify) = unsafe { check(p) }?;
    let eng = engine::engine()?;
    let q = eng.local_queue()?;
    let mut batch = Batch::new(eng, true);
    // SAFETY: forwarded.
    unsafe { engine::accept(eng, q, cb, op, &notify, core::ptr::null(), &mut batch) }?;
    batch.flush();
    Ok(0)
}
