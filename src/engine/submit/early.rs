//! Requests that end inside the call that submits them: bad arguments (EINVAL, EFAULT), a bad
//! descriptor (EBADF), a failure found at submission, or a read done on the caller's thread. Each
//! is accepted like any request (its status published, its notification sent, its lio group
//! counted down) and completed at once; see [`super::accept`].

use super::notify_parts;
use crate::engine::complete::finish;
use crate::engine::core::Engine;
use crate::engine::group::Group;
use crate::engine::queue::Queue;
use crate::engine::request::{Backend, Meta, Op, ReqPtr};
use crate::errno::Errno;
use crate::notify::Notify;
use crate::sys;

/// A read or write whose offset `off` is negative (EINVAL, before the descriptor is looked at, as
/// `pread` does; a request at the file position passes 0) or whose length exceeds `SSIZE_MAX`
/// (EFAULT, unless the descriptor is bad: EBADF): accepted, and completed at once with that error
/// (see [`super::accept`]).
///
/// # Safety
/// As [`super::accept`].
#[cold]
#[inline(never)]
pub(super) unsafe fn accept_bad_args(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    off: i64,
    notify: &Notify,
    group: *const Group,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live; only read here.
    let req = unsafe { r.get() };
    let e = if off < 0 {
        Errno::EINVAL
    } else if !sys::is_open(req.fd()) {
        Errno::EBADF
    } else {
        Errno(libc::EFAULT)
    };
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_failed(eng, q, r, notify, group, e) }
}

/// A bad descriptor (`e`, EBADF) found at submission: the call's error for `aio_fsync`, the
/// request's result for a read or write (see [`super::accept`]).
///
/// # Safety
/// As [`super::accept`].
#[cold]
#[inline(never)]
pub(super) unsafe fn bad_fd(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    op: Op,
    notify: &Notify,
    group: *const Group,
    e: Errno,
) -> Result<(), Errno> {
    if op.is_sync() {
        return Err(e);
    }
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_failed(eng, q, r, notify, group, e) }
}

/// Accepts a request that fails at once with `e`: it is started (so it is in flight for a moment,
/// exactly like any request) and finished here, on the caller's thread, which publishes the
/// error and sends its notification (puts it on its completion queue, counts its lio group down).
///
/// # Safety
/// As [`super::accept`].
#[cold]
#[inline(never)]
pub(crate) unsafe fn accept_failed(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    group: *const Group,
    e: Errno,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live.
    let req = unsafe { r.get() };
    if req.in_flight(eng.epoch) && req.status() == libc::EINPROGRESS {
        return Err(Errno::EINVAL);
    }
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_done(eng, q, r, notify, group, -(e.0 as isize)) }
}

/// Accepts a request that is already done, with result `res` (a read served on the caller's
/// thread, or an error found at submission): it is started (so it is in flight for a moment,
/// exactly like any request) and finished here, which publishes the result and then sends its
/// notification (and counts its lio group down). Its stats column is `Served::AtSubmission` for
/// an error, `Served::Caller` for a read.
///
/// # Safety
/// As [`super::accept`], and the aiocb is not in flight.
#[inline(always)]
pub(super) unsafe fn accept_done(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    group: *const Group,
    res: isize,
) -> Result<(), Errno> {
    if matches!(notify, Notify::None) && group.is_null() && q.stats.is_none() {
        // Nothing to notify, no group to count down, nothing to count: what `start` and then
        // `finish` would do comes down to publishing the result (and waking sleepers, as every
        // completion does).
        // SAFETY: the caller guarantees the aiocb is live.
        unsafe { r.get() }.done_at_once(Meta::new(q.idx, Backend::Threads, Op::Read), res);
        eng.done.notify_all();
        return Ok(());
    }
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_done_notify(eng, q, r, notify, group, res) }
}

/// [`accept_done`] of a request with a notification, a group or stats to count.
///
/// # Safety
/// As [`accept_done`].
#[inline(never)]
unsafe fn accept_done_notify(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    group: *const Group,
    res: isize,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live.
    let req = unsafe { r.get() };
    let (job, queued, _) = notify_parts(q, r, notify, Backend::Threads)?;
    let m = Meta::new(q.idx, Backend::Threads, Op::Read).with_queued(queued);
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if let Some(s) = q.stats {
        s.submitted();
    }
    // SAFETY: accepted just now and ours: nobody else can reach it.
    unsafe { finish(eng, r, res, true) };
    Ok(())
}
