//! Parked stream requests left to their completion queue's harvest for a while (issue 13: a
//! completion reaches a program asleep in `epoll_wait` with one wake-up).
//!
//! A new parked read that is alone on its file and notifies a completion queue harvested
//! lately is *deferred* ([`Ready::defer_new`]): instead of registering its held duplicate in the
//! pool's epoll set, the set registers it, one shot, in the queue's own epoll set
//! (`notify::cq::watch_stream`), so the write that makes the pipe readable wakes the program's
//! `epoll_wait` on the queue directly. The program's harvest takes the tag and claims the request
//! here ([`Ready::claim_deferred`]: the set's lock, tried only; no allocation, the emptied entry
//! stays in the map), makes the non-blocking transfer on its own thread and finishes it
//! (`engine::cq`). The poller is not woken at all.
//!
//! Exactly once: the request stays in the set's table while deferred, so every taker (the
//! harvest, a waiter's claim, `aio_cancel`, the poller) takes it out under the table's lock, and
//! only one can. A deferred entry carries a deadline ([`DEFER`] after it was parked); the poller
//! hands an entry whose time is up to its own epoll set ([`Ready::expire`]), and from there serves
//! it as any other: so a request whose queue nobody harvests (closed, or its program waits with
//! `aio_suspend` on several requests, or polls `aio_error`) still completes, at most about
//! `DEFER` late. A harvest that claims a request and finds nothing to transfer (the readiness was
//! taken by someone else) gives it back undeferred: the poller serves it. A second request parked
//! on the same file undefers the entry (only the first of a direction is ever attempted).
//!
//! The poller must look at the table within `DEFER` of a deferral: a request is deferred only if
//! the poller's current wait ends by then (`looks_by`), else it is parked the usual way and the
//! poller is asked to keep its waits short for a while (`short_until`), so the next ones can be.
//! No deferral goes unseen: a parker adds to `deferred` and then reads `looks_by`; the poller
//! stores `looks_by` and then reads `deferred` (all SeqCst). Either the parker sees the poller's
//! new (late) bound and does not defer, or its increment precedes the poller's read, and the
//! poller shortens its wait to `DEFER`.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;
use core::time::Duration;

use super::{arm, Entry, Ready};
use crate::engine::request::{List, Phase, ReqPtr};
use crate::notify::cq;
use crate::sys;

/// How long a deferred request is left to its queue's harvest before the poller takes it.
const DEFER: Duration = Duration::from_millis(2);
/// How long the poller keeps its waits within `DEFER` after a park deferred or could not.
const SHORT: Duration = Duration::from_secs(1);
/// Tries of the table lock by a harvest before it leaves the request to the poller.
pub(super) const TRIES: u32 = 64;

fn now_us() -> u64 {
    sys::now().as_micros() as u64
}

const DEFER_US: u64 = DEFER.as_micros() as u64;
const DEFER_MS: c_int = DEFER.as_millis() as c_int;

impl Ready {
    /// Park: whether `r`, just put in entry `e` of held number `fd`, is deferred (see the module
    /// documentation); undefers `e` if it has another request. `local`: a request that notifies
    /// nobody, left to its submitter's next wait (see the module documentation). Under the table
    /// lock, `r` owned by the table.
    pub(super) fn defer_new(&self, fd: c_int, e: &mut Entry, r: ReqPtr, local: bool) -> bool {
        if e.lists[0].len() + e.lists[1].len() != 1 {
            e.defer = 0;
            return false;
        }
        // SAFETY: in the table (caller): live, and its fields fixed while it is parked.
        let req = unsafe { r.get() };
        let m = req.meta();
        // Reads only: a write's attempt on the harvesting thread, a program thread, could raise
        // SIGPIPE there (a pipe whose reader is gone); writes wait for the poller as before.
        if !(m.queued() || local) || m.op().is_write() || req.progress() != 0 || req.state().phase() != Phase::Queued {
            return false;
        }
        let now = now_us();
        self.deferred.fetch_add(1, SeqCst);
        if self.looks_by.load(SeqCst) > now + DEFER_US {
            self.deferred.fetch_sub(1, SeqCst);
            self.short_until.store(now + SHORT.as_micros() as u64, Relaxed);
            return false;
        }
        let tag = cq::stream_tag(m.queue(), fd, e.seq);
        // SAFETY: a completion queue's request (`queued`): its job slot is the entry reserved at
        // submission, handed back only when it is finished, and a parked request is not.
        if m.queued() && !unsafe { cq::watch_stream(req.job().cast(), fd, m.op().is_write(), tag) } {
            self.deferred.fetch_sub(1, SeqCst);
            return false;
        }
        e.defer = now + DEFER_US;
        // Deferrals go on: keep the poller's waits short, so that the next ones can be too.
        self.short_until.store(now + SHORT.as_micros() as u64, Relaxed);
        true
    }

    /// The poller, before each wait on instance `ep`: hands the deferred entries whose time is up
    /// to `ep` (armed there: the next wait reports those that are ready), and returns how long it
    /// may wait (ms, at most `ms`), announced in `looks_by`. Registrations that cannot be armed
    /// send their requests to `orphans`.
    pub(super) fn expire(&self, ep: c_int, ms: c_int, orphans: &mut List) -> c_int {
        let now = now_us();
        let mut ms = ms;
        if now < self.short_until.load(Relaxed) {
            ms = ms.min(DEFER_MS);
        }
        if self.deferred.load(SeqCst) != 0 {
            let mut g = self.table.lock();
            let t = &mut *g;
            let (mut left, mut next, mut failed) = (0, u64::MAX, [-1; 8]);
            for (&fd, e) in t.by_fd.iter_mut().filter(|(_, e)| e.defer != 0) {
                if e.defer > now {
                    left += 1;
                    next = next.min(e.defer);
                    continue;
                }
                e.defer = 0;
                if arm(ep, fd, e).is_err() {
                    match failed.iter_mut().find(|f| **f < 0) {
                        Some(f) => *f = fd,
                        // More failures than fit: kept deferred, for the next round.
                        None => {
                            e.defer = now;
                            left += 1;
                            next = now;
                        }
                    }
                }
            }
            for fd in failed.into_iter().filter(|&f| f >= 0) {
                self.dismiss(Some(ep), &mut t.by_fd, fd, orphans);
            }
            self.deferred.store(left, SeqCst);
            if next != u64::MAX {
                ms = ms.min((next - now).div_ceil(1000) as c_int);
            }
        }
        self.looks_by.store(now + ms as u64 * 1000, SeqCst);
        // See the module documentation: a deferral that read the old bound is seen here.
        if self.deferred.load(SeqCst) != 0 && ms > DEFER_MS {
            ms = DEFER_MS;
            self.looks_by.store(now + DEFER_US, SeqCst);
        }
        ms
    }

    /// The poller goes to sleep with no bound: nothing may be deferred until it looks again.
    pub(super) fn sleeping(&self) {
        self.looks_by.store(u64::MAX, SeqCst);
    }

    /// A harvest that took tag (`fd`, `seq`) from its queue: takes the deferred request of held
    /// number `fd`, registration `seq`, out of the set, if it is still there, deferred, and has
    /// transferred nothing. `Ok(Some(r))`: the caller owns it (phase Issued, like a waiter's
    /// claim) and must finish it or give it back (`Ready::put_back`, which parks it undeferred);
    /// `Ok(None)`: nothing to take (someone else took it); `Err(())`: the lock stayed busy, the
    /// request is left to the poller (at most `DEFER`). Try-locks only, no allocation.
    pub(crate) fn claim_deferred(&self, fd: c_int, seq: u32) -> Result<Option<ReqPtr>, ()> {
        let mut g = None;
        for _ in 0..TRIES {
            g = self.table.try_lock();
            if g.is_some() {
                break;
            }
            core::hint::spin_loop();
        }
        let Some(mut g) = g else { return Err(()) };
        let Some(e) = g.by_fd.get_mut(&fd) else { return Ok(None) };
        if e.defer == 0 || e.seq & cq::SEQ_MASK != seq || e.lists[0].len() + e.lists[1].len() != 1 {
            return Ok(None);
        }
        let dir = e.lists[0].is_empty() as usize;
        let Some(r) = e.lists[dir].front() else { return Ok(None) };
        // SAFETY: a member of the table: live; phase and membership change only under this lock.
        let req = unsafe { r.get() };
        if req.state().phase() != Phase::Queued || req.progress() != 0 {
            return Ok(None);
        }
        e.lists[dir].pop_front();
        req.issue();
        // Undeferred: given back, it is armed in the pool's set. Nothing of it is registered
        // there now (a deferred entry is not armed), and the emptied entry stays in the map, so
        // that giving it back allocates nothing.
        e.defer = 0;
        self.waiting.fetch_sub(1, SeqCst);
        Ok(Some(r))
    }
}
