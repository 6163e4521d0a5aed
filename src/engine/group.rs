//! A `lio_listio` group: counts its members, sends the list notification once all are done, and
//! is freed by whoever drops the last reference, where freeing is allowed.
//!
//! A group counts its members plus a hold for the submitter, so the list notification cannot fire
//! before the last entry is submitted. References: the submitter's, and one the members release
//! together (by the last member to complete, or by the notifier once it has taken the job).

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use super::core::Engine;
use crate::errno::Errno;
use crate::notify::{self, Notify, ThreadJob};
use crate::sys::{Linked, Stack};

pub(crate) struct Group {
    /// Members not yet done, plus one held by the submitter until it has submitted them all.
    remaining: AtomicU64,
    /// Members that completed with an error.
    failed: AtomicU32,
    /// References: the submitter's, and one released by the last member.
    refs: AtomicU32,
    notify: Notify,
    job: ThreadJob,
    /// Link in the list of groups to free (see `Group::release`).
    next_free: AtomicPtr<Group>,
}

// SAFETY: `link` always returns `next_free`, which only the FREED stack touches.
unsafe impl Linked for Group {
    unsafe fn link<'a>(node: *mut Self) -> &'a AtomicPtr<Self> {
        // SAFETY: the caller guarantees `node` is live for 'a.
        unsafe { &(*node).next_free }
    }
}

/// Groups whose last reference was dropped where `free` was not allowed, for a helper to free.
/// Process-wide, so that a group outlives the engine generation it was made in (a fork child's
/// helpers free what its parent's reapers left here before the fork).
static FREED: Stack<Group> = Stack::new();

impl Group {
    /// A new group: one hold for the submitter, two references. A `SIGEV_THREAD` list
    /// notification needs the notifier thread (EAGAIN if it cannot be started).
    pub(crate) fn new(notify: Notify) -> Result<*const Group, Errno> {
        if let Notify::Thread { .. } = notify {
            notify::ensure_started()?;
        }
        Ok(Box::into_raw(Box::new(Group {
            remaining: AtomicU64::new(1),
            failed: AtomicU32::new(0),
            refs: AtomicU32::new(2),
            notify,
            job: ThreadJob::new(),
            next_free: AtomicPtr::new(ptr::null_mut()),
        })))
    }

    /// The group a request belongs to, as the request records it.
    pub(crate) fn as_member_tag(g: *const Group) -> *const c_void {
        g.cast()
    }

    /// The group recorded in a request (or NULL).
    pub(crate) fn from_member_tag(p: *const c_void) -> *const Group {
        p.cast()
    }

    /// Whether the group's completion must be acted on without anyone waiting (it notifies).
    pub(crate) fn notifies(&self) -> bool {
        !self.notify.is_none()
    }

    /// One more member (counted before the member is accepted, so the count never hits zero
    /// early).
    pub(crate) fn add_member(&self) {
        self.remaining.fetch_add(1, Relaxed);
    }

    pub(crate) fn all_done(&self) -> bool {
        self.remaining.load(Acquire) == 0
    }

    /// Whether a member completed with an error (read once `all_done`).
    pub(crate) fn any_failed(&self) -> bool {
        self.failed.load(Acquire) != 0
    }

    /// A member is done (`failed`: with an error), or the submitter drops its hold. The last one
    /// sends the list notification, and releases the members' reference (the notifier does, for
    /// `SIGEV_THREAD`, once it has taken the job).
    ///
    /// # Safety
    /// `g` is live; called once per member and once by the submitter.
    pub(crate) unsafe fn member_done(eng: &Engine, g: *const Group, failed: bool, blocking: bool) {
        // SAFETY: the group holds a reference for its pending members.
        let gr = unsafe { &*g };
        if failed {
            gr.failed.fetch_add(1, Release);
        }
        if gr.remaining.fetch_sub(1, AcqRel) == 1 {
            let job = &gr.job as *const ThreadJob as *mut ThreadJob;
            // SAFETY: the job is used for this one delivery; on_done drops the members' reference.
            let taken = unsafe { notify::deliver(&gr.notify, job, Group::release_job) };
            if !taken {
                // SAFETY: the members' reference.
                unsafe { Group::release(eng, g, blocking) };
            }
        }
    }

    /// The notifier's `on_done` for the group's job: drops the members' reference.
    ///
    /// # Safety
    /// `job` is the `job` field of a live group whose members' reference is still held.
    unsafe fn release_job(job: *mut ThreadJob) {
        let off = core::mem::offset_of!(Group, job);
        // SAFETY: job is the `job` field of a live Group (caller), so stepping back by its offset
        // gives the group; the notifier thread may free.
        unsafe {
            if let Some(eng) = super::core::get() {
                Group::release(eng, (job as *mut u8).sub(off) as *const Group, true);
            }
        }
    }

    /// Drops one reference. The last one frees the group, but only where freeing is allowed: a
    /// reaper that may be running in a signal handler (`blocking` false) must not call `free`, so
    /// it hands the group to the helpers' free list instead (a lock-free push, see `sys::Stack`).
    ///
    /// # Safety
    /// `g` is live and the caller owns one reference.
    pub(crate) unsafe fn release(eng: &Engine, g: *const Group, blocking: bool) {
        // SAFETY: live (caller).
        if unsafe { (*g).refs.fetch_sub(1, AcqRel) } != 1 {
            return;
        }
        if blocking {
            // SAFETY: last reference: nobody else can reach the group.
            drop(unsafe { Box::from_raw(g as *mut Group) });
            return;
        }
        // SAFETY: the group is ours (last reference) and in no stack; it stays live until a
        // helper frees it.
        unsafe { FREED.push(g as *mut Group) };
        if let Some(q) = eng.started_queues().next() {
            q.wake();
        }
    }

    /// Frees every group handed over by `release` (helper threads only).
    pub(crate) fn free_released() {
        for g in FREED.take_all() {
            // SAFETY: groups on the list are unreachable by anyone else; each is freed once.
            drop(unsafe { Box::from_raw(g) });
        }
    }
}
