//! The ordering and barrier state machine of one descriptor, free of any engine or descriptor:
//! it decides, under the fd's lock, which requests may go and which wait, and tells an [`Admit`]
//! what to do with them. POSIX makes us order two things per fd:
//!
//! * **ordering chains**: on O_APPEND files (writes) and on non-seekable files (reads and writes,
//!   each direction separately) at most one request per direction is issued at a time; later ones
//!   wait in `chain[dir]` and are issued in submission order as each one completes;
//! * **fsync barriers**: `aio_fsync` is issued only once every earlier request on the fd is
//!   complete; requests submitted after it wait (in `waitq`, in order) until it completes.
//!
//! Requests that need neither (random reads and writes with no barrier pending) take a lock-free
//! fast path: one atomic increment of `inflight` at submission and one decrement at completion.
//! The protocol between that fast path and a barrier is argued at [`OrderState::slow`].

use core::sync::atomic::{AtomicU32, Ordering::*};

use crate::engine::request::{List, Meta, Phase, ReqPtr};
use crate::sys::{Guard, Lock};

/// Bits of `OrderState::events`: what completions happened since the last evaluation.
const EV_READ_FREE: u32 = 1;
const EV_WRITE_FREE: u32 = 2;
const EV_BARRIER_DONE: u32 = 4;

/// What the state machine does with requests: the engine issues them in a batch and counts parked
/// ones in the helpers' `force_watch`; the unit tests record them.
pub(crate) trait Admit {
    /// `r` may go: it is counted in `inflight` and marked counted. Issue it.
    fn issue(&mut self, r: ReqPtr);
    /// `r` is about to wait in one of the fd's lists: make it hold what it needs to wait (the
    /// engine: its caller's open file). False refuses it: it is not parked, and `submit` says so.
    /// Called for a request in a list too (moved from the barrier queue to a chain), which must
    /// then answer true.
    fn hold(&mut self, r: ReqPtr) -> bool;
    /// `r` now waits in one of the fd's lists (its phase is `Waiting`).
    fn parked(&mut self, r: ReqPtr);
    /// `n` requests left the waiting lists (issued or removed).
    fn unparked(&mut self, n: usize);
}

/// The fd's lists, under its lock.
pub(crate) struct FdLists {
    chain: [List; 2],
    busy: [bool; 2],
    waitq: List,
    barrier: bool,
    /// Hold new requests until nothing is in flight (the class changed under requests in flight).
    drain: bool,
}

/// One descriptor's ordering state.
pub(crate) struct OrderState {
    /// Requests issued on this fd and not yet complete.
    inflight: AtomicU32,
    /// Non-zero while a barrier is issued, a drain is pending, or requests wait in `waitq`.
    ///
    /// Fast-path submitters read it (SeqCst) and go to the slow path when set. Completions
    /// decrement `inflight` (SeqCst) and *then* read `slow` (SeqCst); a barrier sets `slow`
    /// (SeqCst) and *then* reads `inflight`. In the single total order of SeqCst operations,
    /// either the barrier's read sees the decrement (and it issues itself if that was the last),
    /// or the completion's read of `slow` comes after the barrier's store and sees it (and the
    /// completion kicks the fd). So a barrier can never wait for a completion that already left.
    slow: AtomicU32,
    events: AtomicU32,
    lists: Lock<FdLists>,
}

impl Default for OrderState {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderState {
    pub(crate) const fn new() -> Self {
        OrderState {
            inflight: AtomicU32::new(0),
            slow: AtomicU32::new(0),
            events: AtomicU32::new(0),
            lists: Lock::new(FdLists {
                chain: [List::new(), List::new()],
                busy: [false, false],
                waitq: List::new(),
                barrier: false,
                drain: false,
            }),
        }
    }

    /// Requests issued on the fd and not yet complete.
    pub(crate) fn inflight(&self) -> u32 {
        self.inflight.load(SeqCst)
    }

    /// Whether requests are in flight or the slow path is engaged (relaxed: a hint for the class
    /// cache, which decides whether it must check the fd).
    pub(crate) fn busy_hint(&self) -> bool {
        self.inflight.load(Relaxed) != 0 || self.slow.load(Relaxed) != 0
    }

    /// The fast path: if nothing is ordered on the fd, counts one more request in flight and
    /// returns true; the request then goes straight to its backend.
    pub(crate) fn try_fast(&self) -> bool {
        if self.slow.load(SeqCst) != 0 {
            return false;
        }
        self.inflight.fetch_add(1, SeqCst);
        true
    }

    pub(crate) fn lock(&self) -> Guard<'_, FdLists> {
        self.lists.lock()
    }

    pub(crate) fn try_lock(&self) -> Option<Guard<'_, FdLists>> {
        self.lists.try_lock()
    }

    /// Admits a request that must take the slow path (ordered, a barrier, or the fd has a
    /// barrier or a drain pending). `drain`: hold it, and what follows, until nothing is in
    /// flight (the fd's class changed under requests in flight). False if it had to wait and
    /// `Admit::hold` refused: then it is in no list and was not issued.
    ///
    /// # Safety
    /// `r` is live, accepted and in no list.
    pub(crate) unsafe fn submit(&self, r: ReqPtr, drain: bool, to: &mut impl Admit) -> bool {
        let mut l = self.lists.lock();
        if drain && self.inflight.load(SeqCst) != 0 {
            l.drain = true;
        }
        // SAFETY: r is live (caller).
        let m = unsafe { r.get() }.meta();
        let accepted = if m.barrier() {
            self.slow.store(1, SeqCst);
            let quiet = l.waitq.is_empty() && !l.barrier && !l.drain && l.chain.iter().all(List::is_empty);
            if quiet && self.inflight.load(SeqCst) == 0 {
                l.barrier = true;
                // SAFETY: r is live and in no list.
                unsafe { self.admit(&mut l, r, to) }
            } else {
                // SAFETY: r is live and in no list.
                unsafe { park(&mut l.waitq, r, to) }
            }
        } else if l.barrier || l.drain || !l.waitq.is_empty() {
            self.slow.store(1, SeqCst);
            // SAFETY: r is live and in no list.
            unsafe { park(&mut l.waitq, r, to) }
        } else {
            // SAFETY: r is live and in no list.
            unsafe { self.admit(&mut l, r, to) }
        };
        self.slow.store((l.barrier || l.drain || !l.waitq.is_empty()) as u32, SeqCst);
        accepted
    }

    /// Issues `r` unless its direction is busy on an ordered fd, in which case it joins the
    /// chain. False if it had to join and `Admit::hold` refused.
    ///
    /// # Safety
    /// `r` is live and in no list; `l` is this fd's locked lists.
    unsafe fn admit(&self, l: &mut FdLists, r: ReqPtr, to: &mut impl Admit) -> bool {
        // SAFETY: r is live (caller).
        let req = unsafe { r.get() };
        let m = req.meta();
        if m.ordered() {
            let d = m.dir();
            if l.busy[d] {
                // SAFETY: r is live and in no list.
                return unsafe { park(&mut l.chain[d], r, to) };
            }
            l.busy[d] = true;
        }
        self.inflight.fetch_add(1, SeqCst);
        req.set_counted();
        to.issue(r);
        true
    }

    /// Records the completion of a request that was counted in `inflight` (its `meta`). Returns
    /// whether the fd's lists must be re-evaluated ([`OrderState::evaluate`]) now.
    pub(crate) fn complete(&self, m: Meta) -> bool {
        if m.ordered() {
            self.events.fetch_or(if m.dir() == 0 { EV_READ_FREE } else { EV_WRITE_FREE }, SeqCst);
        }
        if m.barrier() {
            self.events.fetch_or(EV_BARRIER_DONE, SeqCst);
        }
        self.inflight.fetch_sub(1, SeqCst);
        m.ordered() || m.barrier() || self.slow.load(SeqCst) != 0
    }

    /// Issues whatever the completions recorded in `events` allow, in submission order.
    pub(crate) fn evaluate(&self, l: &mut FdLists, to: &mut impl Admit) {
        let ev = self.events.swap(0, SeqCst);
        if ev & EV_READ_FREE != 0 {
            l.busy[0] = false;
        }
        if ev & EV_WRITE_FREE != 0 {
            l.busy[1] = false;
        }
        if ev & EV_BARRIER_DONE != 0 {
            l.barrier = false;
        }
        if l.drain && self.inflight.load(SeqCst) == 0 {
            l.drain = false;
        }
        loop {
            for d in 0..2 {
                if !l.busy[d] {
                    if let Some(r) = l.chain[d].pop_front() {
                        to.unparked(1);
                        // SAFETY: r was a member of the chain, so live, and now in no list. It
                        // leaves the chain, so it never joins one again here.
                        let _ = unsafe { self.admit(l, r, to) };
                    }
                }
            }
            if l.barrier || l.drain {
                break;
            }
            let Some(head) = l.waitq.front() else { break };
            // SAFETY: head is a live member of waitq.
            if unsafe { head.get() }.meta().barrier() {
                let quiet = l.chain.iter().all(List::is_empty) && !l.busy[0] && !l.busy[1];
                if quiet && self.inflight.load(SeqCst) == 0 {
                    l.waitq.pop_front();
                    to.unparked(1);
                    l.barrier = true;
                    // SAFETY: head was just unlinked. A barrier is not ordered: never parked.
                    let _ = unsafe { self.admit(l, head, to) };
                }
                break;
            }
            l.waitq.pop_front();
            to.unparked(1);
            // SAFETY: head was just unlinked. It may join a chain: it held what it needed while
            // in the waiting queue, so `hold` agrees (the contract of `Admit::hold`).
            let ok = unsafe { self.admit(l, head, to) };
            debug_assert!(ok, "a request moved from the waiting queue must be accepted");
        }
        self.slow.store((l.barrier || l.drain || !l.waitq.is_empty()) as u32, SeqCst);
    }

    /// Removes `r` from this fd's lists if it waits there (then re-evaluates: removing a barrier
    /// may release what waited behind it). Returns whether it was removed; the caller then
    /// finishes it (it never touched the fd).
    pub(crate) fn unlink(&self, r: ReqPtr, to: &mut impl Admit) -> bool {
        let mut l = self.lists.lock();
        // SAFETY: the caller's request is live (aio_cancel's contract); WAITING requests are owned
        // by this lock, and the phase is re-checked under it.
        if unsafe { r.get() }.state().phase() != Phase::Waiting {
            return false;
        }
        let removed = l.waitq.remove(r) || l.chain[0].remove(r) || l.chain[1].remove(r);
        if removed {
            to.unparked(1);
            self.evaluate(&mut l, to);
        }
        removed
    }

    /// Removes every request waiting on this fd; returns them, in order, for the caller to finish.
    pub(crate) fn unlink_all(&self, to: &mut impl Admit) -> List {
        let mut l = self.lists.lock();
        let mut out = l.waitq.drain_filter(|_| true);
        let c0 = l.chain[0].drain_filter(|_| true);
        let c1 = l.chain[1].drain_filter(|_| true);
        out.append(c0);
        out.append(c1);
        to.unparked(out.len());
        self.slow.store((l.barrier || l.drain) as u32, SeqCst);
        out
    }
}

/// Parks `r` in `list`, if `Admit::hold` agrees.
///
/// # Safety
/// `r` is live and in no list.
unsafe fn park(list: &mut List, r: ReqPtr, to: &mut impl Admit) -> bool {
    if !to.hold(r) {
        return false;
    }
    // SAFETY: r is live (caller).
    unsafe {
        r.get().park();
        list.push_back(r);
    }
    to.parked(r);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Aiocb;
    use crate::engine::request::{Backend, Op};

    /// Records what the state machine does; refuses to hold when `refuse` is set (no descriptor
    /// to hold a file with).
    #[derive(Default)]
    struct Rec {
        issued: Vec<ReqPtr>,
        parked: Vec<ReqPtr>,
        held: Vec<ReqPtr>,
        unparked: usize,
        refuse: bool,
    }

    impl Admit for Rec {
        fn issue(&mut self, r: ReqPtr) {
            self.issued.push(r);
        }
        fn hold(&mut self, r: ReqPtr) -> bool {
            if self.refuse {
                return false;
            }
            if !self.held.contains(&r) {
                self.held.push(r);
            }
            true
        }
        fn parked(&mut self, r: ReqPtr) {
            self.parked.push(r);
        }
        fn unparked(&mut self, n: usize) {
            self.unparked += n;
        }
    }

    /// Requests without descriptors: accepted aiocbs in boxes (each keeps its address).
    #[allow(clippy::vec_box)]
    struct Reqs(Vec<Box<Aiocb>>);

    impl Reqs {
        fn new() -> Self {
            Reqs(Vec::new())
        }

        fn add(&mut self, op: Op, ordered: bool) -> ReqPtr {
            // SAFETY: an all-zero aiocb is a valid value of the structure.
            self.0.push(Box::new(unsafe { core::mem::zeroed::<Aiocb>() }));
            let r = ReqPtr::new(&mut **self.0.last_mut().unwrap()).unwrap();
            let m = Meta::new(0, Backend::Uring, op).with_ordered(ordered).with_barrier(op.is_sync());
            // SAFETY: the box lives as long as `self`, and only this test uses it.
            unsafe { r.get() }.start(1, m, core::ptr::null_mut(), core::ptr::null());
            r
        }
    }

    fn meta(r: ReqPtr) -> Meta {
        // SAFETY: the tests' requests live as long as their `Reqs`.
        unsafe { r.get() }.meta()
    }

    fn phase(r: ReqPtr) -> Phase {
        // SAFETY: as in `meta`.
        unsafe { r.get() }.state().phase()
    }

    fn submit(o: &OrderState, r: ReqPtr, rec: &mut Rec) {
        // SAFETY: accepted, live, in no list.
        unsafe { o.submit(r, false, rec) };
    }

    /// Completes `r` the way the engine does: record, then re-evaluate if asked.
    fn complete(o: &OrderState, r: ReqPtr, rec: &mut Rec) {
        assert!(meta(r).counted(), "only issued requests complete");
        if o.complete(meta(r)) {
            let mut l = o.lock();
            o.evaluate(&mut l, rec);
        }
    }

    /// A request that must wait holds what it needs first; if that is refused it is neither
    /// parked nor issued (the submitter refuses it), and the fd's state is as before.
    #[test]
    fn waiting_needs_a_hold_and_a_refused_one_is_left_out() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let r1 = reqs.add(Op::Read, true);
        let r2 = reqs.add(Op::Read, true);
        let r3 = reqs.add(Op::Read, true);
        submit(&o, r1, &mut rec);
        assert!(rec.held.is_empty(), "issued at once: holds nothing");
        // SAFETY: accepted, live, in no list.
        assert!(unsafe { o.submit(r2, false, &mut rec) });
        assert_eq!((rec.parked.as_slice(), rec.held.as_slice()), ([r2].as_slice(), [r2].as_slice()));
        rec.refuse = true;
        // SAFETY: accepted, live, in no list.
        assert!(!unsafe { o.submit(r3, false, &mut rec) }, "no hold: refused");
        assert_eq!(rec.parked, [r2]);
        assert_eq!(phase(r3), Phase::Idle);
        // A barrier that must wait is refused the same way and leaves no barrier behind.
        let f = reqs.add(Op::Fsync, false);
        // SAFETY: accepted, live, in no list.
        assert!(!unsafe { o.submit(f, false, &mut rec) });
        rec.refuse = false;
        complete(&o, r1, &mut rec);
        assert_eq!(rec.issued, [r1, r2]);
        complete(&o, r2, &mut rec);
        assert_eq!(o.inflight(), 0);
        assert!(o.try_fast(), "nothing left waiting or barred");
    }

    #[test]
    fn unordered_requests_go_at_once() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        assert!(o.try_fast());
        let a = reqs.add(Op::Read, false);
        let b = reqs.add(Op::Write, false);
        submit(&o, a, &mut rec);
        submit(&o, b, &mut rec);
        assert_eq!(rec.issued, [a, b]);
        assert!(rec.parked.is_empty());
        assert_eq!(o.inflight(), 3);
        assert!(meta(a).counted() && meta(b).counted());
    }

    #[test]
    fn stream_chains_keep_order_per_direction() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let r1 = reqs.add(Op::Read, true);
        let r2 = reqs.add(Op::Read, true);
        let r3 = reqs.add(Op::Read, true);
        let w1 = reqs.add(Op::Write, true);
        for r in [r1, r2, r3, w1] {
            submit(&o, r, &mut rec);
        }
        // One per direction: a pending read never holds back a write.
        assert_eq!(rec.issued, [r1, w1]);
        assert_eq!(rec.parked, [r2, r3]);
        assert_eq!((phase(r2), phase(r3)), (Phase::Waiting, Phase::Waiting));
        complete(&o, w1, &mut rec);
        assert_eq!(rec.issued, [r1, w1], "a write completing frees only the write direction");
        complete(&o, r1, &mut rec);
        assert_eq!(rec.issued, [r1, w1, r2]);
        complete(&o, r2, &mut rec);
        assert_eq!(rec.issued, [r1, w1, r2, r3]);
        assert_eq!(rec.unparked, 2);
        complete(&o, r3, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn fsync_waits_for_earlier_requests_and_holds_later_ones() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        // Two writes on the fast path.
        let w1 = reqs.add(Op::Write, false);
        let w2 = reqs.add(Op::Write, false);
        for w in [w1, w2] {
            assert!(o.try_fast());
            // SAFETY: as in `meta`.
            unsafe { w.get() }.set_counted();
        }
        let f = reqs.add(Op::Fsync, false);
        submit(&o, f, &mut rec);
        assert_eq!(rec.parked, [f], "the barrier waits for the two writes");
        assert!(!o.try_fast(), "no fast path while a barrier waits");
        let w3 = reqs.add(Op::Write, false);
        submit(&o, w3, &mut rec);
        assert_eq!(rec.parked, [f, w3], "a later write waits behind the barrier");
        complete(&o, w1, &mut rec);
        assert!(rec.issued.is_empty());
        complete(&o, w2, &mut rec);
        assert_eq!(rec.issued, [f], "the barrier goes once nothing earlier is in flight");
        complete(&o, f, &mut rec);
        assert_eq!(rec.issued, [f, w3], "later requests go once the barrier is done");
        assert_eq!(rec.unparked, 2);
        complete(&o, w3, &mut rec);
        assert!(o.try_fast(), "fast path open again");
    }

    #[test]
    fn barrier_after_barrier_and_ordered_requests() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let f1 = reqs.add(Op::Fsync, false);
        submit(&o, f1, &mut rec);
        assert_eq!(rec.issued, [f1], "an fsync on an idle fd goes at once");
        let a1 = reqs.add(Op::Write, true);
        let f2 = reqs.add(Op::Fdatasync, false);
        let a2 = reqs.add(Op::Write, true);
        for r in [a1, f2, a2] {
            submit(&o, r, &mut rec);
        }
        assert_eq!(rec.parked, [a1, f2, a2]);
        complete(&o, f1, &mut rec);
        assert_eq!(rec.issued, [f1, a1], "the append goes; the second barrier waits for it");
        complete(&o, a1, &mut rec);
        assert_eq!(rec.issued, [f1, a1, f2]);
        complete(&o, f2, &mut rec);
        assert_eq!(rec.issued, [f1, a1, f2, a2]);
    }

    #[test]
    fn unlinking_a_barrier_releases_what_waits_behind_it() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let w1 = reqs.add(Op::Write, false);
        submit(&o, w1, &mut rec);
        let f = reqs.add(Op::Fsync, false);
        let w2 = reqs.add(Op::Write, false);
        submit(&o, f, &mut rec);
        submit(&o, w2, &mut rec);
        assert_eq!(rec.parked, [f, w2]);
        assert!(!o.unlink(w1, &mut rec), "an issued request is not in the lists");
        assert!(o.unlink(f, &mut rec));
        assert_eq!(rec.issued, [w1, w2], "with the barrier gone the write behind it goes");
        assert_eq!(rec.unparked, 2);
        assert!(!o.unlink(f, &mut rec), "removed once");
    }

    #[test]
    fn unlink_all_returns_every_parked_request_in_order() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let r1 = reqs.add(Op::Read, true);
        let r2 = reqs.add(Op::Read, true);
        let f = reqs.add(Op::Fsync, false);
        let w = reqs.add(Op::Write, true);
        for r in [r1, r2, f, w] {
            submit(&o, r, &mut rec);
        }
        assert_eq!(rec.issued, [r1]);
        let mut all = o.unlink_all(&mut rec);
        let mut got = Vec::new();
        while let Some(r) = all.pop_front() {
            got.push(r);
        }
        assert_eq!(got, [f, w, r2], "the wait queue first, then the chains");
        assert_eq!(rec.unparked, 3);
        assert!(o.try_fast(), "nothing waits any more");
    }

    #[test]
    fn drain_holds_everything_until_nothing_is_in_flight() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let a = reqs.add(Op::Read, false);
        submit(&o, a, &mut rec);
        let b = reqs.add(Op::Read, true);
        // SAFETY: accepted, live, in no list.
        unsafe { o.submit(b, true, &mut rec) };
        assert_eq!(rec.parked, [b], "the class changed under a request in flight: drain");
        let c = reqs.add(Op::Read, false);
        submit(&o, c, &mut rec);
        assert_eq!(rec.parked, [b, c]);
        complete(&o, a, &mut rec);
        assert_eq!(rec.issued, [a, b, c]);
    }
}
