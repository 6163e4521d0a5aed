//! The one checked intake of what a C caller passes: aiocb pointers, lists of them, sigevents.
//! Everything the engine receives has been through here.

use core::ffi::c_int;

use crate::abi::{Aiocb, SigEvent, AIO_PRIO_DELTA_MAX, LIO_NOP, LIO_READ, LIO_WRITE};
use crate::engine::{ListEntry, Op, ReqPtr, IOV_MAX};
use crate::errno::Errno;
use crate::ext::{AIO_RS_SIGEV_QUEUE, LIO_READV, LIO_WRITEV};
use crate::notify::Notify;

/// Whether `p` has the alignment of a `struct aiocb`.
fn aligned(p: *const Aiocb) -> bool {
    p as usize % core::mem::align_of::<Aiocb>() == 0
}

/// Checks the fields every request shares (a non-NULL, aligned pointer; `aio_reqprio`; the
/// sigevent) and reads its notification.
///
/// # Safety
/// `p` is NULL or points to a readable aiocb.
pub(super) unsafe fn request(p: *mut Aiocb) -> Result<(ReqPtr, Notify), Errno> {
    let r = ReqPtr::new(p).filter(|_| aligned(p)).ok_or(Errno::EINVAL)?;
    // SAFETY: non-NULL and aligned; the caller promises a readable aiocb.
    let a = unsafe { &*p };
    if !(0..=AIO_PRIO_DELTA_MAX).contains(&a.aio_reqprio) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the sigevent is inside the aiocb.
    let notify = unsafe { Notify::from_user(&a.aio_sigevent) }?;
    Ok((r, notify))
}

/// Checks a vectored request (`aio_readv`, `aio_writev`, `LIO_READV`, ...): as [`request`], and
/// its iovec array, in `aio_buf` with the count in `aio_nbytes`: at most `IOV_MAX` entries, and
/// not NULL unless there are none. A count of 0 is accepted: the request transfers nothing and
/// completes with 0, as `readv(2)` with no entries returns 0. The entries themselves are the
/// kernel's to check (EFAULT, EINVAL for a total beyond `SSIZE_MAX` or, on an O_DIRECT file, an
/// entry the device cannot take), reported through `aio_error` like any transfer error.
///
/// # Safety
/// `p` is NULL or points to a readable aiocb.
pub(super) unsafe fn vector(p: *mut Aiocb) -> Result<(ReqPtr, Notify), Errno> {
    // SAFETY: `p` is NULL or points to a readable aiocb (caller).
    let (r, n) = unsafe { request(p) }?;
    // SAFETY: `request` accepted `p`: non-NULL, aligned, readable.
    let a = unsafe { &*p };
    if a.aio_nbytes > IOV_MAX || (a.aio_buf.is_null() && a.aio_nbytes > 0) {
        return Err(Errno::EINVAL);
    }
    Ok((r, n))
}

/// Checks one `lio_listio` entry: NULL and `LIO_NOP` are skipped, an unknown opcode is EINVAL,
/// then as [`request`] (or [`vector`] for `LIO_READV` and `LIO_WRITEV`).
///
/// # Safety
/// `p` is NULL or points to a readable aiocb.
pub(super) unsafe fn list_entry(p: *mut Aiocb) -> ListEntry {
    let Some(r) = ReqPtr::new(p) else { return ListEntry::Skip };
    if !aligned(p) {
        return ListEntry::Invalid(None, Errno::EINVAL);
    }
    // SAFETY: non-NULL and aligned; the caller promises a readable aiocb.
    let op = match unsafe { (*p).aio_lio_opcode } {
        LIO_NOP => return ListEntry::Skip,
        LIO_READ => Op::Read,
        LIO_WRITE => Op::Write,
        LIO_READV => Op::Readv,
        LIO_WRITEV => Op::Writev,
        _ => return ListEntry::Invalid(Some(r), Errno::EINVAL),
    };
    // SAFETY: `p` is non-NULL, aligned and (caller) a readable aiocb.
    let checked = if op.is_vector() { unsafe { vector(p) } } else { unsafe { request(p) } };
    match checked {
        Ok((r, n)) => ListEntry::Valid(r, op, n),
        Err(e) => ListEntry::Invalid(Some(r), e),
    }
}

/// Checks a list argument (`nent` entries at `list`) and returns it as a slice.
///
/// # Safety
/// `list` points to `nent` readable entries, or `nent` is 0.
pub(super) unsafe fn list<'a, T>(list: *const T, nent: c_int) -> Result<&'a [T], Errno> {
    if nent < 0 || (list.is_null() && nent > 0) {
        return Err(Errno::EINVAL);
    }
    if nent == 0 {
        return Ok(&[]);
    }
    // SAFETY: nent > 0 readable entries at a non-NULL `list` (caller).
    Ok(unsafe { core::slice::from_raw_parts(list, nent as usize) })
}

/// Reads a list's sigevent argument (NULL: no notification). A completion queue is for requests,
/// not lists: EINVAL.
///
/// # Safety
/// `sev` is NULL or readable.
pub(super) unsafe fn sigevent(sev: *const SigEvent) -> Result<Notify, Errno> {
    // SAFETY: `sev` is NULL or readable (caller); read_unaligned needs no alignment.
    if !sev.is_null() && unsafe { core::ptr::read_unaligned(sev) }.sigev_notify == AIO_RS_SIGEV_QUEUE {
        return Err(Errno::EINVAL);
    }
    // SAFETY: `sev` is NULL or readable (caller).
    unsafe { Notify::from_user(sev) }
}

/// Checks a relative timeout (NULL: none).
///
/// # Safety
/// `t` is NULL or readable.
pub(super) unsafe fn timeout(t: *const libc::timespec) -> Result<Option<core::time::Duration>, Errno> {
    if t.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, readable (caller).
    let t = unsafe { &*t };
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(core::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)))
}
