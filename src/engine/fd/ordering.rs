//! The ordering and barrier state machine of one descriptor, free of any engine or descriptor:
//! it decides, under the fd's lock, which requests may go and which wait, and tells an [`Admit`]
//! what to do with them. POSIX makes us order two things per fd:
//!
//! * **ordering chains**: on O_APPEND files (writes) and on non-seekable files (reads and writes,
//!   each direction separately) at most one request per direction is issued at a time; later ones
//!   wait in `chain[dir]` and are issued in submission order as each one completes;
//! * **fsync barriers**: `aio_fsync` is issued only once every read and write submitted earlier on
//!   the fd is complete (issued or chained), and holds back nothing submitted after it. Reads and
//!   writes are counted in per-fd *generations* ([`gens`]): an fsync closes the current
//!   generation and waits (in `syncs`) until every generation up to it has drained; requests
//!   submitted after it count in the next generation and go straight on. Any number of fsyncs
//!   may wait at once, each for its own predecessors, and since a closed generation takes no new
//!   requests, a stream of writes cannot starve one.
//!
//! An fsync does not wait for an earlier fsync: it waits for every write that one covers, so
//! waiting for it too would add nothing to what reaches the disk, and fio's `fsync=N` (which
//! issues fsyncs back to back until one completes) would run them one at a time. fsyncs in flight
//! are counted apart ([`Generations::sync_started`]), for `aio_cancel`'s answer and the class
//! cache.
//!
//! Every read and write admitted on the fd is counted in a generation until it completes, whether
//! it is issued at once or waits in a chain, so an fsync covers chained requests submitted before
//! it. Requests that need no ordering take a lock-free fast path: one atomic increment of the
//! current generation's count at submission, one decrement at completion ([`OrderState::try_fast`],
//! [`OrderState::complete`]); the protocol is argued in [`gens`].
//!
//! A **drain** (the fd's class changed under requests in flight, see `FdEntry::classify`) holds
//! every new request, counted nowhere, in `held` until no read or write is counted, then admits
//! them in order; while it lasts the fast path is closed (`HOLD`).

mod gens;

use core::sync::atomic::{AtomicU32, Ordering::*};

use self::gens::Generations;
use crate::engine::request::{List, Meta, Phase, ReqPtr};
use crate::sys::{Guard, Lock};

/// Bits of `OrderState::events`: which chain directions completions freed since the last
/// evaluation.
const EV_READ_FREE: u32 = 1;
const EV_WRITE_FREE: u32 = 2;

/// What the state machine does with requests: the engine issues them in a batch and counts parked
/// ones in the helpers' `force_watch`; the unit tests record them.
pub(crate) trait Admit {
    /// `r` may go: it is counted in a generation and marked counted. Issue it.
    fn issue(&mut self, r: ReqPtr);
    /// `r` is about to wait in one of the fd's lists: make it hold what it needs to wait (the
    /// engine: its caller's open file). False refuses it: it is not parked, and `submit` says so.
    /// Called for a request that already waited too (moved from a drain's `held` list to a chain
    /// or to wait for its predecessors), which must then answer true.
    fn hold(&mut self, r: ReqPtr) -> bool;
    /// `r` now waits in one of the fd's lists (its phase is `Waiting`).
    fn parked(&mut self, r: ReqPtr);
    /// `n` requests left the waiting lists (issued or removed).
    fn unparked(&mut self, n: usize);
}

/// The fd's lists, under its lock. Every request in them is in phase `Waiting`.
pub(crate) struct FdLists {
    /// Per direction: requests counted and waiting for the one issued (`busy`) to complete.
    chain: [List; 2],
    busy: [bool; 2],
    /// fsyncs waiting until every generation before theirs (`Meta::generation`) has drained, in
    /// submission order.
    syncs: List,
    /// fsyncs that found every generation slot in use: each closes the current generation, in
    /// order, as soon as a slot is free.
    unclosed: List,
    /// Requests a drain holds (counted nowhere), in submission order.
    held: List,
    /// Hold new requests until nothing counted is left (the class changed under requests in
    /// flight).
    drain: bool,
    /// The oldest generation not retired (see [`gens`]).
    oldest: u32,
}

/// One descriptor's ordering state.
pub(crate) struct OrderState {
    gens: Generations,
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
        Self::with(Generations::new(), 0)
    }

    const fn with(gens: Generations, oldest: u32) -> Self {
        OrderState {
            gens,
            events: AtomicU32::new(0),
            lists: Lock::new(FdLists {
                chain: [List::new(), List::new()],
                busy: [false, false],
                syncs: List::new(),
                unclosed: List::new(),
                held: List::new(),
                drain: false,
                oldest,
            }),
        }
    }

    /// Requests counted on the fd and not yet complete (reads and writes issued or chained, fsyncs
    /// issued). Takes the fd's lock.
    pub(crate) fn inflight(&self) -> u32 {
        let _l = self.lists.lock();
        self.gens.total()
    }

    /// Whether requests are in flight on the fd (counted, or held; fsyncs too), relaxed: a hint
    /// for the class cache, which decides whether it must check the fd.
    pub(crate) fn busy_hint(&self) -> bool {
        self.gens.busy_hint()
    }

    /// The fast path: unless a drain holds new requests, counts one more request in the current
    /// generation and returns that generation (the caller marks the request counted in it); the
    /// request then goes straight to its backend. A pending fsync does not close the fast path.
    pub(crate) fn try_fast(&self) -> Option<u32> {
        self.gens.try_count()
    }

    pub(crate) fn lock(&self) -> Guard<'_, FdLists> {
        self.lists.lock()
    }

    pub(crate) fn try_lock(&self) -> Option<Guard<'_, FdLists>> {
        self.lists.try_lock()
    }

    /// Admits a request that must take the slow path (ordered, an fsync, or a drain is pending).
    /// `drain`: hold it, and what follows, until nothing counted is left (the fd's class changed
    /// under requests in flight). False if it had to wait and `Admit::hold` refused: then it is in
    /// no list, was not issued and is counted nowhere.
    ///
    /// # Safety
    /// `r` is live, accepted, not counted and in no list.
    pub(crate) unsafe fn submit(&self, r: ReqPtr, drain: bool, to: &mut impl Admit) -> bool {
        let mut l = self.lists.lock();
        if drain && !l.drain {
            // HOLD first, then the count: see `gens` (point 5).
            self.gens.hold(true);
            l.drain = self.gens.total() != 0;
        }
        let accepted = if l.drain || !l.held.is_empty() {
            // SAFETY: r is live and in no list.
            unsafe { park(&mut l.held, r, to) }
        } else {
            // SAFETY: r is live, not counted and in no list.
            unsafe { self.admit(&mut l, r, to) }
        };
        self.evaluate(&mut l, to);
        accepted
    }

    /// Counts `r` and issues it, unless it must wait: an fsync for its predecessors, an ordered
    /// request for the one of its direction that is issued. False if it had to wait and
    /// `Admit::hold` refused: then it is in no list and counted nowhere (an fsync may have closed
    /// the current generation first: that generation then retires as it drains, with nobody
    /// waiting for it, which delays nothing).
    ///
    /// # Safety
    /// `r` is live, not counted and in no list; `l` is this fd's locked lists.
    unsafe fn admit(&self, l: &mut FdLists, r: ReqPtr, to: &mut impl Admit) -> bool {
        // SAFETY: r is live (caller).
        let req = unsafe { r.get() };
        let m = req.meta();
        if m.barrier() {
            let g = if l.unclosed.is_empty() { self.gens.close(l.oldest) } else { None };
            return match g {
                Some(g) => {
                    req.set_generation(g);
                    self.gens.retire(&mut l.oldest);
                    if Generations::drained(l.oldest, g) {
                        self.issue_sync(r, g, to);
                        true
                    } else {
                        // SAFETY: r is live and in no list.
                        unsafe { park(&mut l.syncs, r, to) }
                    }
                }
                // SAFETY: r is live and in no list.
                None => unsafe { park(&mut l.unclosed, r, to) },
            };
        }
        if m.ordered() {
            let d = m.dir();
            if l.busy[d] {
                // SAFETY: r is live and in no list.
                if !unsafe { park(&mut l.chain[d], r, to) } {
                    return false;
                }
                // Counted while it waits, so that an fsync submitted later covers it.
                req.set_counted(self.gens.count());
                return true;
            }
            l.busy[d] = true;
        }
        req.set_counted(self.gens.count());
        to.issue(r);
        true
    }

    /// Issues fsync `r`, whose predecessors (the generations before `g`) have all completed: counts
    /// it as in flight until it completes.
    fn issue_sync(&self, r: ReqPtr, g: u32, to: &mut impl Admit) {
        self.gens.sync_started();
        // SAFETY: r is live and ours to issue (the caller took it out of, or kept it out of, the
        // lists under the fd's lock).
        unsafe { r.get() }.set_counted(g);
        to.issue(r);
    }

    /// Records the completion of a counted request (its `meta`). Lock-free and async-signal-safe.
    /// Returns whether the fd's lists must be re-evaluated ([`OrderState::evaluate`]) now: it
    /// freed its chain's direction, its generation drained, or a drain is pending.
    pub(crate) fn complete(&self, m: Meta) -> bool {
        if m.plain() {
            return self.gens.uncount(m.generation());
        }
        self.complete_ordered_or_sync(m)
    }

    /// [`OrderState::complete`] of `n` plain requests counted in generation `g` (see
    /// `Generations::uncount_n`).
    pub(crate) fn complete_plain(&self, g: u32, n: u32) -> bool {
        self.gens.uncount_n(g, n)
    }

    #[cold]
    fn complete_ordered_or_sync(&self, m: Meta) -> bool {
        if m.barrier() {
            // Nothing waits for an fsync but a drain.
            return self.gens.sync_done();
        }
        self.events.fetch_or(if m.dir() == 0 { EV_READ_FREE } else { EV_WRITE_FREE }, SeqCst);
        self.gens.uncount(m.generation());
        true
    }

    /// Issues whatever the completions since the last evaluation allow, in submission order per
    /// list: the next request of each free chain direction, the fsyncs whose predecessors have all
    /// completed, fsyncs waiting for a generation slot, and what a drain held once it is over.
    pub(crate) fn evaluate(&self, l: &mut FdLists, to: &mut impl Admit) {
        let ev = self.events.swap(0, SeqCst);
        if ev & EV_READ_FREE != 0 {
            l.busy[0] = false;
        }
        if ev & EV_WRITE_FREE != 0 {
            l.busy[1] = false;
        }
        loop {
            for d in 0..2 {
                if !l.busy[d] {
                    if let Some(r) = l.chain[d].pop_front() {
                        // Counted when it was admitted.
                        to.unparked(1);
                        l.busy[d] = true;
                        to.issue(r);
                    }
                }
            }
            self.gens.retire(&mut l.oldest);
            while let Some(f) = l.syncs.front() {
                // SAFETY: f is a live member of syncs.
                let g = unsafe { f.get() }.meta().generation();
                if !Generations::drained(l.oldest, g) {
                    break;
                }
                l.syncs.pop_front();
                to.unparked(1);
                self.issue_sync(f, g, to);
            }
            let mut progress = false;
            while let Some(f) = l.unclosed.front() {
                let Some(g) = self.gens.close(l.oldest) else { break };
                l.unclosed.pop_front();
                // SAFETY: f was a member of unclosed, so live; it stays parked (Waiting), moving
                // to syncs, unless it may go at once.
                unsafe {
                    f.get().set_generation(g);
                    self.gens.retire(&mut l.oldest);
                    if Generations::drained(l.oldest, g) {
                        to.unparked(1);
                        self.issue_sync(f, g, to);
                    } else {
                        l.syncs.push_back(f);
                    }
                }
                progress = true;
            }
            if l.drain && self.gens.total() == 0 {
                l.drain = false;
            }
            if !l.drain && !l.held.is_empty() {
                while let Some(r) = l.held.pop_front() {
                    to.unparked(1);
                    // SAFETY: r was a member of held (live, counted nowhere) and is in no list now.
                    // It may wait again (in a chain or for its predecessors): it held what it
                    // needed while held, so `hold` agrees (the contract of `Admit::hold`).
                    let ok = unsafe { self.admit(l, r, to) };
                    debug_assert!(ok, "a request moved from the held list must be accepted");
                }
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.gens.hold(l.drain || !l.held.is_empty());
    }

    /// Removes `r` from this fd's lists if it waits there, taking it out of its generation's count
    /// (then re-evaluates: that may let an fsync go). Returns whether it was removed; the caller
    /// then finishes it (it never touched the fd).
    pub(crate) fn unlink(&self, r: ReqPtr, to: &mut impl Admit) -> bool {
        let mut l = self.lists.lock();
        // SAFETY: the caller's request is live (aio_cancel's contract); WAITING requests are owned
        // by this lock, and the phase is re-checked under it.
        if unsafe { r.get() }.state().phase() != Phase::Waiting {
            return false;
        }
        let l = &mut *l;
        let [c0, c1] = &mut l.chain;
        let removed = [&mut l.syncs, &mut l.unclosed, &mut l.held, c0, c1].into_iter().any(|list| list.remove(r));
        if removed {
            self.uncount(r);
            to.unparked(1);
            self.evaluate(l, to);
        }
        removed
    }

    /// Removes every request waiting on this fd, taking each out of its generation's count;
    /// returns them for the caller to finish: held requests, fsyncs, then the chains, each list
    /// in order.
    pub(crate) fn unlink_all(&self, to: &mut impl Admit) -> List {
        let mut l = self.lists.lock();
        let l = &mut *l;
        let mut out = List::new();
        let [c0, c1] = &mut l.chain;
        for list in [&mut l.held, &mut l.syncs, &mut l.unclosed, c0, c1] {
            out.append(list.drain_filter(|r| {
                self.uncount(r);
                true
            }));
        }
        to.unparked(out.len());
        self.evaluate(l, to);
        out
    }

    /// Takes a request that leaves the lists without completing out of its generation's count (a
    /// chained read or write; a parked fsync is not counted).
    fn uncount(&self, r: ReqPtr) {
        // SAFETY: r was just removed from a list under the lock: live, and the caller's now.
        let req = unsafe { r.get() };
        let m = req.meta();
        if m.counted() {
            debug_assert!(!m.barrier(), "parked fsyncs are not counted");
            self.gens.uncount(m.generation());
            req.clear_counted();
        }
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
    use super::gens::GENS;
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
            assert!(meta(r).counted(), "only counted requests are issued");
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

    /// Submits each of `rs` in order.
    fn submit_all(o: &OrderState, rs: &[ReqPtr], rec: &mut Rec) {
        for &r in rs {
            submit(o, r, rec);
        }
    }

    /// The engine's fast path: counted in a generation, straight to the backend.
    fn fast(o: &OrderState, reqs: &mut Reqs) -> ReqPtr {
        let w = reqs.add(Op::Write, false);
        let g = o.try_fast().expect("the fast path is open");
        // SAFETY: as in `meta`.
        unsafe { w.get() }.set_counted(g);
        w
    }

    /// Completes `r` the way the engine does: record, then re-evaluate if asked.
    fn complete(o: &OrderState, r: ReqPtr, rec: &mut Rec) {
        assert!(meta(r).counted(), "only counted requests complete");
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
        assert_eq!(o.inflight(), 2, "the refused request is counted nowhere");
        // An fsync that must wait is refused the same way: the generation it closed retires as it
        // drains, with nobody waiting for it.
        let f = reqs.add(Op::Fsync, false);
        // SAFETY: accepted, live, in no list.
        assert!(!unsafe { o.submit(f, false, &mut rec) });
        assert_eq!((rec.parked.as_slice(), phase(f)), ([r2].as_slice(), Phase::Idle));
        // So is a request a drain would hold.
        let h = reqs.add(Op::Write, false);
        // SAFETY: accepted, live, in no list.
        assert!(!unsafe { o.submit(h, true, &mut rec) });
        assert_eq!(phase(h), Phase::Idle);
        rec.refuse = false;
        complete(&o, r1, &mut rec);
        assert_eq!(rec.issued, [r1, r2]);
        complete(&o, r2, &mut rec);
        assert_eq!(rec.issued, [r1, r2], "the refused ones never go");
        assert_eq!(o.inflight(), 0);
        assert!(!o.busy_hint(), "nothing left waiting, closed or held");
        assert!(o.try_fast().is_some(), "the fast path is open again");
    }

    #[test]
    fn unordered_requests_go_at_once() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let f = fast(&o, &mut reqs);
        let a = reqs.add(Op::Read, false);
        let b = reqs.add(Op::Write, false);
        submit(&o, a, &mut rec);
        submit(&o, b, &mut rec);
        assert_eq!(rec.issued, [a, b]);
        assert!(rec.parked.is_empty());
        assert_eq!(o.inflight(), 3);
        for r in [f, a, b] {
            complete(&o, r, &mut rec);
        }
        assert_eq!(o.inflight(), 0);
        assert!(!o.busy_hint());
    }

    #[test]
    fn stream_chains_keep_order_per_direction() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let r1 = reqs.add(Op::Read, true);
        let r2 = reqs.add(Op::Read, true);
        let r3 = reqs.add(Op::Read, true);
        let w1 = reqs.add(Op::Write, true);
        submit_all(&o, &[r1, r2, r3, w1], &mut rec);
        // One per direction: a pending read never holds back a write.
        assert_eq!(rec.issued, [r1, w1]);
        assert_eq!(rec.parked, [r2, r3]);
        assert_eq!((phase(r2), phase(r3)), (Phase::Waiting, Phase::Waiting));
        assert_eq!(o.inflight(), 4, "chained requests are counted from their admission");
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
    fn fsync_waits_for_earlier_requests_and_holds_back_nothing() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let w1 = fast(&o, &mut reqs);
        let w2 = fast(&o, &mut reqs);
        let f = reqs.add(Op::Fsync, false);
        submit(&o, f, &mut rec);
        assert_eq!(rec.parked, [f], "the fsync waits for the two writes");
        // A later write takes the fast path and goes at once ...
        let w3 = fast(&o, &mut reqs);
        let w4 = reqs.add(Op::Write, false);
        submit(&o, w4, &mut rec);
        assert_eq!(rec.issued, [w4], "... and so does one through the slow path");
        // ... and completing it does not release the fsync.
        complete(&o, w3, &mut rec);
        complete(&o, w4, &mut rec);
        complete(&o, w1, &mut rec);
        assert_eq!(rec.issued, [w4]);
        complete(&o, w2, &mut rec);
        assert_eq!(rec.issued, [w4, f], "the fsync goes once its predecessors are done");
        assert_eq!(rec.unparked, 1);
        complete(&o, f, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn an_fsync_on_an_idle_fd_goes_at_once() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let f = reqs.add(Op::Fdatasync, false);
        submit(&o, f, &mut rec);
        assert_eq!(rec.issued, [f]);
        assert!(o.busy_hint(), "an fsync in flight keeps the fd busy for the class cache");
        complete(&o, f, &mut rec);
        assert!(!o.busy_hint());
        let w = fast(&o, &mut reqs);
        complete(&o, w, &mut rec);
        let g = reqs.add(Op::Fsync, false);
        submit(&o, g, &mut rec);
        assert_eq!(rec.issued, [f, g], "completed predecessors do not count");
    }

    #[test]
    fn several_fsyncs_each_wait_for_their_own_predecessors() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        // w1, f1, w2, f2, w3
        let w1 = fast(&o, &mut reqs);
        let f1 = reqs.add(Op::Fsync, false);
        submit(&o, f1, &mut rec);
        let w2 = fast(&o, &mut reqs);
        let f2 = reqs.add(Op::Fsync, false);
        submit(&o, f2, &mut rec);
        let w3 = fast(&o, &mut reqs);
        assert_eq!(rec.parked, [f1, f2]);
        complete(&o, w3, &mut rec);
        complete(&o, w1, &mut rec);
        assert_eq!(rec.issued, [f1], "f1's predecessors are done; f2 still waits for w2");
        complete(&o, w2, &mut rec);
        assert_eq!(rec.issued, [f1, f2]);
        assert_eq!(o.inflight(), 2, "the two fsyncs");
        complete(&o, f2, &mut rec);
        complete(&o, f1, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn a_later_fsync_does_not_wait_for_an_earlier_one() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let w1 = fast(&o, &mut reqs);
        let f1 = reqs.add(Op::Fsync, false);
        submit(&o, f1, &mut rec);
        complete(&o, w1, &mut rec);
        assert_eq!(rec.issued, [f1]);
        let w2 = fast(&o, &mut reqs);
        let f2 = reqs.add(Op::Fsync, false);
        submit(&o, f2, &mut rec);
        complete(&o, w2, &mut rec);
        assert_eq!(rec.issued, [f1, f2], "f2 covers w1 and w2; f1 in flight adds nothing");
        // fsyncs back to back (fio's fsync=N) all go at once.
        let more: Vec<ReqPtr> = (0..5).map(|_| reqs.add(Op::Fdatasync, false)).collect();
        for &f in &more {
            submit(&o, f, &mut rec);
        }
        assert_eq!(rec.issued[2..], more[..]);
        for f in [f1, f2].into_iter().chain(more) {
            complete(&o, f, &mut rec);
        }
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn a_stream_of_writes_does_not_starve_an_fsync() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let mut window: Vec<ReqPtr> = (0..32).map(|_| fast(&o, &mut reqs)).collect();
        let f = reqs.add(Op::Fsync, false);
        submit(&o, f, &mut rec);
        // Keep 32 writes in flight: each completion is replaced by a new write at once.
        for i in 0.. {
            let done = window.remove(0);
            complete(&o, done, &mut rec);
            window.push(fast(&o, &mut reqs));
            if rec.issued.contains(&f) {
                assert_eq!(i, 31, "the fsync goes as soon as the 32 writes before it are done");
                break;
            }
        }
        for w in window {
            complete(&o, w, &mut rec);
        }
        complete(&o, f, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn an_fsync_covers_chained_appends_and_does_not_join_the_chain() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let a1 = reqs.add(Op::Write, true);
        let a2 = reqs.add(Op::Write, true);
        let f = reqs.add(Op::Fsync, false);
        let a3 = reqs.add(Op::Write, true);
        submit_all(&o, &[a1, a2, f, a3], &mut rec);
        assert_eq!(rec.issued, [a1]);
        assert_eq!(rec.parked, [a2, f, a3]);
        complete(&o, a1, &mut rec);
        assert_eq!(rec.issued, [a1, a2], "the chain goes on; the fsync still waits for a2");
        complete(&o, a2, &mut rec);
        assert_eq!(rec.issued, [a1, a2, a3, f], "a3 follows a2 in the chain, not the fsync");
        complete(&o, a3, &mut rec);
        complete(&o, f, &mut rec);
        assert_eq!(o.inflight(), 0);
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
        submit_all(&o, &[a1, f2, a2], &mut rec);
        assert_eq!(rec.issued, [f1, a1], "the append is not held behind the first fsync");
        assert_eq!(rec.parked, [f2, a2]);
        complete(&o, a1, &mut rec);
        assert_eq!(rec.issued, [f1, a1, a2, f2], "the chain goes on, and f2 once a1 is done");
        complete(&o, f1, &mut rec);
        complete(&o, a2, &mut rec);
        complete(&o, f2, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn more_fsyncs_than_generation_slots_wait_their_turn() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        // Each fsync closes a generation holding one write still in flight.
        let mut writes = vec![fast(&o, &mut reqs)];
        let mut syncs = Vec::new();
        for _ in 0..GENS + 3 {
            let f = reqs.add(Op::Fsync, false);
            submit(&o, f, &mut rec);
            syncs.push(f);
            writes.push(fast(&o, &mut reqs));
        }
        assert!(rec.issued.is_empty());
        assert_eq!(rec.parked, syncs, "the last three find no free slot: they wait unclosed");
        // Each fsync that found a slot for the next generation goes when the writes before it are
        // done, in order (the current generation holds one slot: GENS - 1 can be closed).
        let n = GENS as usize - 1;
        for (i, &w) in writes[..n].iter().enumerate() {
            complete(&o, w, &mut rec);
            assert_eq!(rec.issued, syncs[..=i], "after write {i}");
        }
        // The others closed the current generation when the first slot came free: by then it
        // also held the writes submitted after them, which they now wait for too (later, never
        // forever: a closed generation takes no new requests).
        for &w in &writes[n..] {
            assert_eq!(rec.issued.len(), n);
            complete(&o, w, &mut rec);
        }
        assert_eq!(rec.issued, syncs);
        for &f in &syncs {
            complete(&o, f, &mut rec);
        }
        assert_eq!(rec.unparked, syncs.len());
        assert_eq!(o.inflight(), 0);
        assert!(!o.busy_hint());
    }

    #[test]
    fn an_unclosed_fsync_covers_what_came_before_it() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let first = fast(&o, &mut reqs);
        let mut writes = Vec::new();
        for _ in 0..GENS - 1 {
            let f = reqs.add(Op::Fsync, false);
            submit(&o, f, &mut rec);
            writes.push(fast(&o, &mut reqs));
        }
        // Every slot is in use: the last fsync waits unclosed, and the write before it, in the
        // same (current) generation as the last of `writes`, must still count.
        let w = fast(&o, &mut reqs);
        let last = reqs.add(Op::Fsync, false);
        submit(&o, last, &mut rec);
        complete(&o, first, &mut rec);
        for &x in &writes {
            complete(&o, x, &mut rec);
        }
        assert_eq!(rec.issued.len(), GENS as usize - 1);
        assert!(!rec.issued.contains(&last), "the last fsync still waits for w");
        complete(&o, w, &mut rec);
        assert_eq!(rec.issued.last(), Some(&last));
    }

    #[test]
    fn unlinking_a_parked_fsync_keeps_the_counts_right() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let w1 = fast(&o, &mut reqs);
        let f1 = reqs.add(Op::Fsync, false);
        let f2 = reqs.add(Op::Fsync, false);
        submit(&o, f1, &mut rec);
        submit(&o, f2, &mut rec);
        assert!(!o.unlink(w1, &mut rec), "an issued request is not in the lists");
        assert!(o.unlink(f1, &mut rec));
        assert!(!meta(f1).counted(), "taken out of its generation");
        assert!(!o.unlink(f1, &mut rec), "removed once");
        assert!(rec.issued.is_empty(), "f2 still waits for w1");
        complete(&o, w1, &mut rec);
        assert_eq!(rec.issued, [f2], "and no longer for the cancelled f1");
        complete(&o, f2, &mut rec);
        assert_eq!(o.inflight(), 0);
        assert_eq!(rec.unparked, 2);
    }

    #[test]
    fn unlinking_a_chained_request_releases_the_fsync_behind_it() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let a1 = reqs.add(Op::Write, true);
        let a2 = reqs.add(Op::Write, true);
        let f = reqs.add(Op::Fsync, false);
        submit_all(&o, &[a1, a2, f], &mut rec);
        assert!(o.unlink(a2, &mut rec));
        complete(&o, a1, &mut rec);
        assert_eq!(rec.issued, [a1, f]);
        complete(&o, f, &mut rec);
        assert_eq!(o.inflight(), 0);
    }

    #[test]
    fn unlink_all_returns_every_parked_request() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let r1 = reqs.add(Op::Read, true);
        let r2 = reqs.add(Op::Read, true);
        let f = reqs.add(Op::Fsync, false);
        let w = reqs.add(Op::Write, true);
        submit_all(&o, &[r1, r2, f, w], &mut rec);
        assert_eq!(rec.issued, [r1, w]);
        let mut all = o.unlink_all(&mut rec);
        let mut got = Vec::new();
        while let Some(r) = all.pop_front() {
            assert!(!meta(r).counted());
            got.push(r);
        }
        assert_eq!(got, [f, r2], "the fsyncs, then the chains");
        assert_eq!(rec.unparked, 2);
        assert_eq!(o.inflight(), 2, "r1 and w are still in flight");
        complete(&o, r1, &mut rec);
        complete(&o, w, &mut rec);
        assert_eq!(o.inflight(), 0);
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
        assert_eq!(o.try_fast(), None, "the fast path is closed while a drain holds requests");
        let c = reqs.add(Op::Read, false);
        submit(&o, c, &mut rec);
        let f = reqs.add(Op::Fsync, false);
        submit(&o, f, &mut rec);
        assert_eq!(rec.parked, [b, c, f]);
        assert!(!meta(c).counted(), "held requests are counted nowhere");
        complete(&o, a, &mut rec);
        assert_eq!(rec.issued, [a, b, c], "released in order; the fsync now waits for b and c");
        complete(&o, b, &mut rec);
        complete(&o, c, &mut rec);
        assert_eq!(rec.issued, [a, b, c, f]);
        assert!(o.try_fast().is_some());
    }

    #[test]
    fn a_drain_waits_for_an_fsync_in_flight() {
        let (o, mut reqs, mut rec) = (OrderState::new(), Reqs::new(), Rec::default());
        let f = reqs.add(Op::Fsync, false);
        submit(&o, f, &mut rec);
        assert_eq!(rec.issued, [f]);
        let b = reqs.add(Op::Read, true);
        // SAFETY: accepted, live, in no list.
        unsafe { o.submit(b, true, &mut rec) };
        assert_eq!(rec.parked, [b]);
        complete(&o, f, &mut rec);
        assert_eq!(rec.issued, [f, b], "the fsync's completion ends the drain");
    }

    #[test]
    fn generations_wrap_in_the_meta_word_and_in_the_counter() {
        for start in [0, 0x00ff_fff0] {
            let o = OrderState::with(super::gens::Generations::starting_at(start), start);
            let (mut reqs, mut rec) = (Reqs::new(), Rec::default());
            let mut prev = fast(&o, &mut reqs);
            for i in 0..100 {
                let f = reqs.add(Op::Fsync, false);
                submit(&o, f, &mut rec);
                let next = fast(&o, &mut reqs);
                assert!(!rec.issued.contains(&f), "round {i}: the write before the fsync runs");
                complete(&o, prev, &mut rec);
                assert!(rec.issued.contains(&f), "round {i}");
                complete(&o, f, &mut rec);
                prev = next;
            }
            complete(&o, prev, &mut rec);
            assert_eq!(o.inflight(), 0);
        }
    }
}
