//! `lio_listio`: entries are accepted one by one into one batch, flushed every [`FLUSH_EVERY`]
//! entries, so a list costs a few system calls, not one per entry, and any length is accepted
//! (nothing is copied). The entries share a `Group`, which sends the list notification once the
//! last member completes. With LIO_WAIT the caller waits like `aio_suspend`; if a signal
//! interrupts the wait it returns EINTR, and the group lives on until its last member completes,
//! so nothing dangles.

use super::batch::Batch;
use super::core::Engine;
use super::group::Group;
use super::queue::Queue;
use super::request::{Op, ReqPtr};
use super::submit::accept;
use super::wait::{wait_until, WaitSet};
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
}

/// Submits `entries` (each checked by `intake`) as one list; with `wait`, waits for all of them.
/// `Err(EIO)` if an entry was refused or (with `wait`) completed with an error; `Err(EINTR)` if a
/// signal interrupted the wait.
///
/// # Safety
/// Every non-NULL entry that `intake` accepts points to an aiocb the caller keeps valid until it
/// completes.
pub(crate) unsafe fn submit_list(
    eng: &Engine,
    q: &Queue,
    entries: &[*mut Aiocb],
    wait: bool,
    notify: Notify,
    intake: impl Fn(*mut Aiocb) -> ListEntry,
) -> Result<(), Errno> {
    let group = Group::new(notify)?;
    // SAFETY: the submitter's reference keeps the group alive until it releases it below.
    let g = unsafe { &*group };
    let mut failed = false;
    let mut batch = Batch::new(eng, true);
    let mut pending = 0;
    for &p in entries {
        let r = match intake(p) {
            ListEntry::Skip => continue,
            ListEntry::Invalid(r, e) => {
                failed = true;
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
                let res = unsafe { accept(eng, q, r, op, false, &n, group, &mut batch) };
                res.map_err(|e| {
                    // SAFETY: the member was not accepted: undo its count.
                    unsafe { Group::member_done(eng, group, false, true) };
                    (r, e)
                })
            }
        };
        if let Err((r, e)) = r {
            failed = true;
            fail_entry(eng, r, e);
            continue;
        }
        pending += 1;
        if pending == FLUSH_EVERY {
            batch.flush();
            pending = 0;
        }
    }
    batch.flush();
    // The submitter's hold: from here the group can complete.
    // SAFETY: group live, we hold a reference.
    unsafe { Group::member_done(eng, group, false, true) };
    if !wait {
        // SAFETY: our reference.
        unsafe { Group::release(eng, group, true) };
        return if failed { Err(Errno::EIO) } else { Ok(()) };
    }
    // Where the members went decides how to wait: in the kernel on one queue if possible.
    let mut ws = WaitSet::default();
    for r in
        entries.iter().filter(|&&p| p as usize % core::mem::align_of::<Aiocb>() == 0).filter_map(|&p| ReqPtr::new(p))
    {
        // SAFETY: the caller's entries are readable; members stay live until done, and a done or
        // foreign entry is skipped.
        let req = unsafe { r.get() };
        if req.status() == libc::EINPROGRESS && req.in_flight(eng.epoch) && req.group() == Group::as_member_tag(group) {
            ws.add(&req);
        }
    }
    let res = wait_until(eng, || (g.all_done(), ws), None);
    let any_failed = g.any_failed();
    // SAFETY: our reference; the members hold their own.
    unsafe { Group::release(eng, group, true) };
    res?;
    if failed || any_failed {
        Err(Errno::EIO)
    } else {
        Ok(())
    }
}

/// Records a submission error in an entry, as if it had completed with that error, unless the
/// entry is a request still in flight (resubmitted while running: its status is left alone).
fn fail_entry(eng: &Engine, r: ReqPtr, e: Errno) {
    // SAFETY: the caller's aligned, non-NULL entry is a readable aiocb; it is not in flight here,
    // so nobody else writes it.
    let req = unsafe { r.get() };
    if req.status() == libc::EINPROGRESS && req.in_flight(eng.epoch) {
        return;
    }
    req.fail(e.0);
}
