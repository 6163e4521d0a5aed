//! The pool's side of the readiness set (`ready`): parking a stream request there (at submission,
//! or by a worker whose attempt found nothing), the poller thread that serves it, and the way back
//! to the workers for what the set gives up (`Pool::requeue`, through the same hand-off as a push:
//! at most one wake-up, none while a worker is active, the stall check, or the helper asked for a
//! worker when there is none to look at the list).

use core::ptr;
use core::sync::atomic::Ordering::*;

use super::{attempt_ready, Host, Pool, Pushed, Step, Worker};
use crate::abi::Aiocb;
use crate::engine::request::{Completion, List, ReqPtr};
use crate::sys::{self, Doorbell, ThreadAttr};

impl Pool {
    /// Asks for the readiness set's epoll instance (made by the next AIO call): the queue has no
    /// ring, so its stream requests come here.
    pub(crate) fn want_readiness(&self) {
        self.ready.epoll().want();
    }

    /// Parks a new pipe read or write (the caller knows the file is a pipe) in the readiness set:
    /// the poller makes its first attempt when the fd is ready, so no worker is woken for it.
    /// False if it is not one that may wait there, or it cannot (then queue it).
    ///
    /// # Safety
    /// `r` is live, accepted, owned by the caller and in no list.
    pub(crate) unsafe fn park_new(&'static self, r: ReqPtr, host: Host) -> bool {
        // SAFETY: live and ours (caller).
        let req = unsafe { r.get() };
        let m = req.meta();
        let Some(h) = req.held() else { return false };
        // A direction its file refuses (a read on a pipe's write end) is never ready, and nothing
        // to transfer needs no readiness: their answers (EBADF, 0) come from a worker, at once.
        let refused = sys::held_refuses(h, Some(m.op().is_write()));
        let can = m.stream() && !m.op().is_sync() && !refused && req.total_len() > 0 && self.ready.in_use();
        can && self.park(r, host, false)
    }

    /// A worker's request `r` (Issued by its attempt, `done` bytes moved) found its fd not ready:
    /// parks it in the readiness set if it can wait there. On its way there it is in neither the
    /// worker's `current` nor the set: `parking` says so, under the work lock, where
    /// `aio_cancel(fd, NULL)` reads it and `current`. Leaves `current` set to `r` if it stays with
    /// the worker and is cancellable (nothing moved).
    pub(super) fn park_from_worker(&'static self, host: Host, me: &Worker, r: ReqPtr, done: usize) -> bool {
        // SAFETY: the worker's request: live and ours until it is reported or parked.
        unsafe { r.get() }.set_progress(done);
        self.parking_now(me, ptr::null_mut(), 1);
        let parked = self.park(r, host, false);
        self.parking_now(me, if parked || done > 0 { ptr::null_mut() } else { r.as_ptr() }, -1);
        parked
    }

    /// Sets `me`'s current request and counts it as parking (`by`: +1, -1), under the work lock.
    fn parking_now(&self, me: &Worker, cur: *mut Aiocb, by: i32) {
        let _g = self.work.lock();
        me.current.store(cur, Release);
        self.parking.fetch_add(by as u32, AcqRel);
    }

    /// Parks `r` (live, ours, in no list, holding its file) in the readiness set, starting the
    /// pool's poller if it has none; false if it cannot wait there. What the set gave back goes to
    /// the work list. `local`: it may be left to its submitter's next wait for a while
    /// (`ready::defer`).
    pub(super) fn park(&'static self, r: ReqPtr, host: Host, local: bool) -> bool {
        if self.poller.load(Acquire) == 0 && !self.start_poller(host) {
            return false;
        }
        let mut orphans = List::new();
        let parked = self.ready.park(r, false, local, &mut orphans);
        self.requeue(orphans, host.helper);
        parked.is_some()
    }

    /// Starts the pool's poller thread (once); false if it could not be created (then requests
    /// wait on workers, and the next park tries again). `poller` is set only once the thread
    /// exists, under the lock that serialises thread starts (`growing`): a parker that saw it
    /// set while the start was still under way would have left its request in a set that no
    /// thread serves when the start then failed (RLIMIT_NPROC: c-tests/nproc_after_start.c).
    fn start_poller(&'static self, host: Host) -> bool {
        let _g = self.growing.lock();
        if self.poller.load(Acquire) != 0 {
            return true;
        }
        let name = format!("aio-rs-w{}.p", host.queue);
        if sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || self.poller_main(host)).is_err() {
            return false;
        }
        self.poller.store(1, Release);
        true
    }

    /// The poller thread's body (see `Ready::poll_loop`). What it finishes is published as any
    /// completion (not `Completions::worker_done`: the poller keeps no files for later).
    fn poller_main(&'static self, host: Host) {
        let mut done = |r: ReqPtr, res: isize| host.sink.complete(Completion::Request(r, res));
        self.ready.poll_loop(&|l| self.requeue(l, host.helper), &mut done);
    }

    /// A waiter takes its parked request `r` (live for the call) out of the readiness set, to wait
    /// for its file and transfer itself (see `ready::claim`); true if it did: the caller owns it,
    /// holding its file, and must finish it or give it back ([`Pool::put_back`]).
    pub(crate) fn claim(&self, r: ReqPtr) -> bool {
        let took = self.ready.claim(r);
        if took {
            self.claims.fetch_add(1, AcqRel);
        }
        took
    }

    /// A harvest of a completion queue takes the deferred request its tag (`fd`, `seq`) names
    /// (see `ready::defer`); `Ok(Some(r))`: the caller owns it, as a waiter's claim, and must
    /// finish it ([`Pool::forget_claimed`] first) or give it back ([`Pool::put_back`]).
    /// `Err(())`: the set's lock stayed busy (the poller takes the request in time). Try-locks
    /// only, no allocation.
    pub(crate) fn claim_deferred(&self, fd: core::ffi::c_int, seq: u32) -> Result<Option<ReqPtr>, ()> {
        let took = self.ready.claim_deferred(fd, seq)?;
        if took.is_some() {
            self.claims.fetch_add(1, AcqRel);
        }
        Ok(took)
    }

    /// Whether requests are claimed by waiters (see `take_polling_on_fd`).
    pub(crate) fn has_claims(&self) -> bool {
        self.claims.load(Acquire) != 0
    }

    /// A claim ended without the claimer finishing or giving back its request through this pool
    /// (it handed it to the helper).
    pub(crate) fn claim_handed_on(&self) {
        self.claims.fetch_sub(1, AcqRel);
    }

    /// The claimer's non-blocking attempt for claimed `r` (ours, live): `Some(result)` once
    /// finished (the caller finishes it), None if nothing (more) moved (still the caller's), and
    /// `Err(())` for a file without a per-call non-blocking transfer (the caller gives it back).
    pub(crate) fn attempt_claimed(&self, r: ReqPtr) -> Result<Option<isize>, ()> {
        // SAFETY: a claimed request: its claimer (the caller) owns it, in flight.
        match attempt_ready(&unsafe { r.get() }) {
            Step::Done(n) => Ok(Some(n)),
            Step::Again => Ok(None),
            Step::Unsupported => Err(()),
        }
    }

    /// Gives back claimed `r` (ours, live, in no list) to the readiness set; false if that cannot
    /// be done without waiting for a lock (the caller then hands it to the helper).
    pub(crate) fn put_back(&self, r: ReqPtr) -> bool {
        let back = self.ready.put_back(r);
        if back {
            self.claims.fetch_sub(1, AcqRel);
        }
        back
    }

    /// Forgets what claiming `r` (ours, about to be finished) left in the readiness set.
    pub(crate) fn forget_claimed(&self, r: ReqPtr) {
        self.claims.fetch_sub(1, AcqRel);
        // SAFETY: a claimed request: its claimer (the caller) owns it, in flight.
        if let Some(h) = unsafe { r.get() }.held() {
            self.ready.forget(h.fd(), h.to_word());
        }
    }

    /// Requests the readiness set gave back, to the work list (requests that wrote part stay
    /// `Issued`), handed over like a push (`Pool::hand_off`); with no worker to look at them (none
    /// active, none asleep: the pool may have none yet, its requests all parked at submission),
    /// `helper` is asked for one.
    pub(super) fn requeue(&self, mut l: List, helper: &Doorbell) {
        if l.is_empty() {
            return;
        }
        let mut g = self.work.lock();
        while let Some(r) = l.pop_front() {
            // SAFETY: handed back by the readiness set: live, ours, in no list.
            unsafe {
                let req = r.get();
                if req.progress() == 0 {
                    req.queue_for_workers();
                }
                g.list.push_back(r);
            }
        }
        if self.hand_off(g, helper) == Pushed::Unattended {
            self.want_worker(helper);
        }
    }
}
