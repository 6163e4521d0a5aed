//! `lio_listio`: entries are accepted one by one into one batch, flushed every [`FLUSH_EVERY`]
//! entries, so a list costs a few system calls, not one per entry, and any length is accepted
//! (nothing is copied). The entries share a `Group`, which sends the list notification once the
//! last member completes. With LIO_WAIT the caller gets a `Wait` for the group and waits like
//! `aio_suspend` (in the C frame of `lio_listio`, a cancellation point); if a signal interrupts
//! the wait, or the thread is cancelled in it, the group lives on until its last member
//! completes, so nothing dangles.
//!
//! Errors, as glibc reports them: an entry refused at submission (a bad `aio_reqprio` or
//! sigevent, no resources) makes the call fail with that entry's error (EINVAL, EAGAIN), after
//! the other entries were submitted (and, with LIO_WAIT, completed); what the descriptor or the
//! kernel says about an entry (EBADF, a negative offset, an unknown opcode) is that entry's
//! result, reported through `aio_error` and its notification: LIO_NOWAIT then returns 0, and
//! LIO_WAIT fails with EIO once every entry is done.

use super::batch::Batch;
use super::core::Engine;
use super::group::Group;
use super::queue::Queue;
use super::request::{Op, ReqPtr};
use super::submit::{accept, accept_failed, take_back};
use super::wait::{Target, Wait, WaitSet};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::notify::Notify;

/// Flush the batch after this many accepted entries so the first requests start early.
const FLUSH_EVERY: usize = 256;

/// One list entry, as the caller's intake checked it.
pub(crate) enum ListEntry {
    /// NULL, or `LIO_NOP`.
    Skip,
    /// Refused with this error, recorded in the aiocb if there is one to record it in.
    Invalid(Option<ReqPtr>, Errno),
    /// A request to submit.
    Valid(ReqPtr, Op, Notify),
    /// A request accepted only to fail at once with this error (an unknown `aio_lio_opcode`).
    Fails(ReqPtr, Notify, Errno),
}

/// Submits `entries` (each checked by `intake`) as one list. With `wait`, returns the wait for
/// them all (its end gives the list's result); otherwise the list's result at once.
///
/// # Safety
/// Every non-NULL entry that `intake` accepts points to an aiocb the caller keeps valid until it
/// completes.
pub(crate) unsafe fn submit_list<'e>(
    eng: &'e Engine,
    q: &Queue,
    entries: &[*mut Aiocb],
    wait: bool,
    notify: Notify,
    intake: impl Fn(*mut Aiocb) -> ListEntry,
) -> Result<Option<Wait<'e>>, Errno> {
    let group = Group::new(notify)?;
    // SAFETY: the submitter's reference keeps the group alive until it releases it below.
    let g = unsafe { &*group };
    let mut refused = None;
    let mut batch = Batch::submitting(eng);
    let mut pending = 0;
    for &p in entries {
        let (r, res) = match intake(p) {
            ListEntry::Skip => continue,
            ListEntry::Invalid(r, e) => {
                refused = Some(e);
                if let Some(r) = r {
                    fail_entry(eng, r, e);
                }
                continue;
            }
            ListEntry::Valid(r, op, n) => {
                // Counted before it is accepted, so the count can never hit zero early.
                g.add_member();
                // SAFETY: the intake accepted `r`, so (our caller's contract) it points to an aiocb
                // kept valid and unmodified until it completes.
                (r, unsafe { accept(eng, q, r, op, false, &n, group, &mut batch) })
            }
            ListEntry::Fails(r, n, e) => {
                g.add_member();
                // SAFETY: as above.
                (r, unsafe { accept_failed(eng, q, r, &n, group, e) })
            }
        };
        if let Err(e) = res {
            // SAFETY: the member was not accepted: undo its count.
            unsafe { Group::member_done(eng, group, false, true) };
            refused = Some(e);
            fail_entry(eng, r, e);
            continue;
        }
        pending += 1;
        if pending == FLUSH_EVERY {
            batch.flush();
            // SAFETY: the group is live while its submitter holds it.
            unsafe { take_back_refused(eng, group, &mut batch, &mut refused) };
            pending = 0;
        }
    }
    batch.flush();
    // SAFETY: as above.
    unsafe { take_back_refused(eng, group, &mut batch, &mut refused) };
    // The submitter's hold: from here the group can complete.
    // SAFETY: group live, we hold a reference.
    unsafe { Group::member_done(eng, group, false, true) };
    if !wait {
        // SAFETY: our reference.
        unsafe { Group::release(eng, group, true) };
        return refused.map_or(Ok(None), Err);
    }
    // Where the members went decides how to wait: in the kernel on one queue if possible.
    let mut ws = WaitSet::default();
    for r in entries
        .iter()
        .filter(|&&p| (p as usize).is_multiple_of(core::mem::align_of::<Aiocb>()))
        .filter_map(|&p| ReqPtr::new(p))
    {
        // SAFETY: the caller's entries are readable; members stay live until done, and a done or
        // foreign entry is skipped.
        let req = unsafe { r.get() };
        if req.status() == libc::EINPROGRESS && req.in_flight(eng.epoch) && req.group() == Group::as_member_tag(group) {
            ws.add(req.meta(), req.state().phase());
        }
    }
    // SAFETY: the wait takes over our reference to the group, which keeps it live.
    Ok(Some(unsafe { Wait::new(Some(eng), Target::Group { group, ws, refused }, None) }))
}

/// Records a submission error in an entry, as if it had completed with that error, unless the
/// entry is a request still in flight (resubmitted while running: its status is left alone).
/// Takes back the members `batch` refused after its flush (`submit::take_back`): each fails with
/// EAGAIN, as a member refused at its acceptance does.
///
/// # Safety
/// `group` is the list's group, live (its submitter holds it); the batch's refused requests were
/// accepted by this call.
unsafe fn take_back_refused(eng: &Engine, group: *const Group, batch: &mut Batch<'_>, refused: &mut Option<Errno>) {
    let mut l = batch.take_refused();
    while let Some(r) = l.pop_front() {
        // SAFETY: accepted by this call and refused by its batch: ours, in no list.
        unsafe { take_back(eng, r) };
        // SAFETY: the member was not accepted after all: undo its count (group live: caller).
        unsafe { Group::member_done(eng, group, false, true) };
        *refused = Some(Errno::EAGAIN);
    }
}

fn fail_entry(eng: &Engine, r: ReqPtr, e: Errno) {
    // SAFETY: the caller's aligned, non-NULL entry is a readable aiocb; it is not in flight here,
    // so nobody else writes it.
    let req = unsafe { r.get() };
    if req.status() == libc::EINPROGRESS && req.in_flight(eng.epoch) {
        return;
    }
    req.fail(e.0);
}
