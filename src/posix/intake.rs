//! The one checked intake of what a C caller passes: aiocb pointers, lists of them, sigevents.
//! Everything the engine receives has been through here.

use core::ffi::c_int;

use crate::abi::{Aiocb, SigEvent, AIO_PRIO_DELTA_MAX, LIO_NOP, LIO_READ, LIO_WRITE};
use crate::engine::{ListEntry, Op, ReqPtr};
use crate::errno::Errno;
use crate::notify::Notify;

/// Whether `p` has the alignment of a `struct aiocb`.
fn aligned(p: *const Aiocb) -> bool {
    (p as usize).is_multiple_of(core::mem::align_of::<Aiocb>())
}

/// Checks what glibc checks of a request before queueing it (a non-NULL, aligned pointer;
/// `aio_reqprio`, except for `aio_fsync`, which uses only `aio_fildes` and `aio_sigevent`) and the
/// sigevent, and reads its notification. What only the descriptor or the kernel can tell is not
/// checked here: it becomes the request's result (see `engine::submit`).
///
/// # Safety
/// `p` is NULL or points to a readable aiocb.
pub(super) unsafe fn request(p: *mut Aiocb, op: Op) -> Result<(ReqPtr, Notify), Errno> {
    let r = ReqPtr::new(p).filter(|_| aligned(p)).ok_or(Errno::EINVAL)?;
    // SAFETY: non-NULL and aligned; the caller promises a readable aiocb.
    let a = unsafe { &*p };
    if !op.is_sync() && !(0..=AIO_PRIO_DELTA_MAX).contains(&a.aio_reqprio) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the sigevent is inside the aiocb.
    let notify = unsafe { Notify::from_user(&a.aio_sigevent) }?;
    Ok((r, notify))
}

/// Checks one `lio_listio` entry: NULL and `LIO_NOP` are skipped; then as [`request`]; an entry
/// with an unknown opcode is accepted only to fail with EINVAL, as glibc does (its worker
/// reports it).
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
        LIO_READ => Some(Op::Read),
        LIO_WRITE => Some(Op::Write),
        _ => None,
    };
    // SAFETY: `p` is non-NULL, aligned and (caller) a readable aiocb.
    match unsafe { request(p, op.unwrap_or(Op::Read)) } {
        Ok((r, n)) => match op {
            Some(op) => ListEntry::Valid(r, op, n),
            None => ListEntry::Fails(r, n, Errno::EINVAL),
        },
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

/// Reads a sigevent argument (NULL: no notification).
///
/// # Safety
/// `sev` is NULL or readable.
pub(super) unsafe fn sigevent(sev: *const SigEvent) -> Result<Notify, Errno> {
    // SAFETY: `sev` is NULL or readable (caller).
    unsafe { Notify::from_user(sev) }
}

/// Reads a relative timeout (NULL: none). A `tv_nsec` of a billion or more is EINVAL; otherwise
/// a negative `tv_sec` or `tv_nsec` is a timeout that has already passed (zero), as glibc treats
/// it.
///
/// # Safety
/// `t` is NULL or readable.
pub(super) unsafe fn timeout(t: *const libc::timespec) -> Result<Option<core::time::Duration>, Errno> {
    if t.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, readable (caller).
    let t = unsafe { &*t };
    if t.tv_nsec >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    if t.tv_sec < 0 || t.tv_nsec < 0 {
        return Ok(Some(core::time::Duration::ZERO));
    }
    Ok(Some(core::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn t(sec: i64, nsec: i64) -> Result<Option<Duration>, Errno> {
        let ts = libc::timespec { tv_sec: sec, tv_nsec: nsec };
        // SAFETY: a live timespec.
        unsafe { timeout(&ts) }
    }

    #[test]
    fn timeouts_as_glibc_reads_them() {
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { timeout(core::ptr::null()) }, Ok(None));
        assert_eq!(t(1, 5), Ok(Some(Duration::new(1, 5))));
        // A negative field: already passed.
        assert_eq!(t(-1, 0), Ok(Some(Duration::ZERO)));
        assert_eq!(t(0, -1), Ok(Some(Duration::ZERO)));
        assert_eq!(t(-1, -1), Ok(Some(Duration::ZERO)));
        // A billion nanoseconds or more: invalid.
        assert_eq!(t(0, 1_000_000_000), Err(Errno::EINVAL));
        assert_eq!(t(-1, 2_000_000_000), Err(Errno::EINVAL));
    }
}
