//! What a wait can do within the queue its requests belong to, so that their completion reaches
//! it with as few cross-CPU wake-ups (12 µs each) as possible:
//!
//! * sleep on that queue's event counter rather than the engine's (`counter`), so that other
//!   threads' completions do not wake it;
//! * wait for a parked pipe or socket read itself (`Wait::sleep_claimed`): when an
//!   `aio_suspend` is for exactly one request, a stream read of the workers parked in its
//!   queue's readiness set, the waiter takes it out of the set (`Pool::claim`: only try-locks,
//!   no allocation, its file's registration removed, so the poller never races it), sleeps in
//!   `ppoll` on the file the request holds, and on waking makes the non-blocking attempt itself and finishes the request
//!   (`Wait::release_claim`). The write that makes the pipe readable so wakes the waiter directly;
//!   through the poller it took two wake-ups (the poller's, then the waiter's).
//!
//! A claimed request is the waiter's: phase Issued, in no list. An `aio_cancel` marks it (or its
//! descriptor) and waits, bounded, while the pool counts claims out (`Pool::has_claims`); the
//! waiter, at its next wake-up (the sleep is capped), sees the mark (`cancel_wanted`) and gives
//! the request back to the set, where the canceller takes it. It never stays claimed after
//! the wait: whatever ends the wait (its result, the timeout, a signal handler, the thread's
//! cancellation, which drops the `Wait`) gives it back first, to the readiness set
//! (`Pool::put_back`), or, where that cannot be done without waiting for a lock (possibly in a
//! signal handler), to the queue's helper, which issues it again (holding its file, first in its
//! direction: nothing overtakes it). No wake-up is lost: the claim takes the request out of the
//! set under the set's lock, and `ppoll` reports a file that became ready before the sleep. The
//! sleep is capped (`CLAIM_SLEEP_CAP`): a duplicate taken from us (`closefrom`) and a number
//! reused by a file that never becomes ready are noticed by the attempt after it
//! (`ready::holds_its_file`).
//!
//! A signal handler that interrupts a thread holding a claim and waits, in `aio_suspend`, for
//! that same request takes the claim and gives it back to the set, whose poller completes it
//! (`Wait::free_interrupted_claim`, see `nested`): the interrupted wait, when it resumes, finds
//! that and forgets the request without touching it.

use core::sync::atomic::Ordering::{Acquire, Relaxed};
use core::time::Duration;

use super::{nested, Held, Target, Wait, WaitSet};
use crate::abi::Aiocb;
use crate::engine::complete::finish_attempted;
use crate::engine::core::Engine;
use crate::engine::queue::Queue;
use crate::engine::request::{Backend, ReqPtr};
use crate::sys::{self, EventCount, SleepCall};

/// The longest sleep on a claimed request's file at once (see the module documentation): also
/// how long an `aio_cancel` of a claimed request may have to wait for the waiter to give it back.
const CLAIM_SLEEP_CAP: Duration = Duration::from_millis(100);

/// Whether an `aio_cancel` asks for claimed `r` (ours, live): for the request itself
/// (`Req::mark_cancel_asked`), or for every request on its descriptor (`FdEntry::cancelling`).
fn cancel_wanted(eng: &Engine, r: ReqPtr) -> bool {
    // SAFETY: claimed by the caller, which owns it, in flight.
    let req = unsafe { r.get() };
    req.state().cancel_asked() || eng.fds.get(req.fd()).is_some_and(|fe| fe.cancelling.load(Acquire) != 0)
}

/// The event counter a wait sleeps on: queue `local`'s, or the engine's.
pub(super) fn counter(eng: &Engine, local: Option<usize>) -> &EventCount {
    match local.and_then(|qi| eng.queue_if_started(qi)) {
        Some(q) => &q.done,
        None => &eng.done,
    }
}

impl WaitSet {
    /// The one queue every awaited request belongs to, if there is one.
    pub(super) fn home(&self) -> Option<usize> {
        (self.homes.count_ones() == 1).then(|| self.homes.trailing_zeros() as usize)
    }
}

impl<'e> Wait<'e> {
    /// The queue whose event counter this wait sleeps on: the one all awaited requests (`ws`)
    /// belong to, if they do (each completion moves its queue's counter too, `complete::finish`),
    /// so that other threads' completions do not wake it. A list's group and the library's own
    /// waits (a cancel slot, a worker) stay on the engine's.
    pub(super) fn local_queue(&self, eng: &Engine, ws: WaitSet) -> Option<usize> {
        match self.target {
            Target::Any { .. } | Target::Done(_) => ws.home().filter(|&qi| eng.queue_if_started(qi).is_some()),
            _ => None,
        }
    }

    /// The one request an `aio_suspend` is for, if exactly one of its entries is pending, in
    /// flight here, and none reads EINPROGRESS without being in flight (it may be submitted
    /// meanwhile and then complete where a sleep on the other's file would not see it).
    fn lone(&self, eng: &Engine) -> Option<ReqPtr> {
        match self.target {
            Target::Any { list, n } => {
                let mut one = None;
                // SAFETY: `n` readable entries at `list` (`Wait::new`'s contract).
                for &p in unsafe { core::slice::from_raw_parts(list, n) } {
                    let Some(r) = ReqPtr::new(p as *mut Aiocb) else { continue };
                    // SAFETY: a non-NULL entry of the list is a readable aiocb (`Wait::new`'s
                    // contract); only read.
                    let req = unsafe { r.get() };
                    if req.status() == libc::EINPROGRESS && (!req.in_flight(eng.epoch) || one.replace(r).is_some()) {
                        return None;
                    }
                }
                one
            }
            _ => None,
        }
    }

    /// If the wait is for one stream request parked in its queue's readiness set (or claimed by
    /// this wait already), claims it and returns the sleep on its file (see the module
    /// documentation); None otherwise.
    pub(super) fn sleep_claimed(&mut self, eng: &'e Engine, ws: WaitSet, left: Option<Duration>) -> Option<SleepCall> {
        let r = match self.held {
            Held::Claim { r, .. } if self.lone(eng) == Some(r) => r,
            Held::Claim { q, r } => {
                // No longer the one awaited request (another entry was submitted meanwhile).
                self.held = Held::Nothing;
                self.release_claim(q, r, false);
                return None;
            }
            _ => {
                if self.no_claim || ws.queues() != 0 {
                    return None;
                }
                let r = self.lone(eng)?;
                // SAFETY: an entry of the wait, readable for it (`Wait::new`'s contract); only read
                // until claimed.
                let m = unsafe { r.get() }.meta();
                // Reads only: a write attempted on the waiter's thread, a program thread, could
                // raise SIGPIPE there (a pipe whose reader is gone), which kills by default.
                if m.backend() != Backend::Threads || !m.stream() || m.op().is_sync() || m.op().is_write() {
                    return None;
                }
                let q = eng.queue_if_started(m.queue())?;
                // Only one claim per thread, so that a nested wait knows which it may take.
                if !nested::begin_claim(r, self as *const Self as usize) {
                    return None;
                }
                if !q.pool.claim(r) {
                    nested::end_claim();
                    return None;
                }
                // The next read parked on this number may be left to this thread's next wait.
                // SAFETY: claimed by this wait: it owns the request, in flight.
                if let Some(fe) = eng.fds.get(unsafe { r.get() }.fd()) {
                    fe.claimed_last.store(1, Relaxed);
                }
                self.held = Held::Claim { q, r };
                r
            }
        };
        // SAFETY: claimed by this wait: it owns the request, in flight until it is finished.
        let req = unsafe { r.get() };
        let events = if req.meta().op().is_write() { libc::POLLOUT } else { libc::POLLIN };
        self.pfd = libc::pollfd { fd: req.held().map_or(-1, |h| h.fd()), events, revents: 0 };
        self.ts = sys::timespec(left.map_or(CLAIM_SLEEP_CAP, |l| l.min(CLAIM_SLEEP_CAP)));
        // At rest until the next step: a nested wait may take it from here on.
        nested::rest_claim(r);
        Some(SleepCall::poll(core::slice::from_mut(&mut self.pfd), Some(&mut self.ts)))
    }

    /// Lets go of claimed `r` of queue `q`: with `serve`, first one non-blocking attempt, which
    /// finishes it here (nothing here waits for a lock: the waiter may be in a signal handler) or,
    /// if nothing moved, keeps it claimed for the next sleep; otherwise it is given back. The
    /// claim is this wait's, BUSY in the thread's word (`nested::use_claim`), cleared here unless
    /// it is kept.
    pub(super) fn release_claim(&mut self, q: &'e Queue, r: ReqPtr, serve: bool) {
        if let (true, Some(eng)) = (serve, self.eng) {
            match q.pool.attempt_claimed(r) {
                Ok(Some(n)) => {
                    q.pool.forget_claimed(r);
                    // SAFETY: claimed by this wait, which alone owns it (in no list, Issued); it
                    // is finished here once, right after its attempt, and never touched again.
                    unsafe { finish_attempted(eng, r, n, false) };
                    nested::end_claim();
                    return;
                }
                // Nothing moved: keep it for the next sleep, unless an `aio_cancel` wants it (for
                // it, or for its descriptor): then it goes back to the set, where the canceller
                // takes it, and this wait claims nothing more.
                Ok(None) if !cancel_wanted(eng, r) => {
                    self.held = Held::Claim { q, r };
                    return;
                }
                Ok(None) => self.no_claim = true,
                // No non-blocking transfer on this file (a FIFO): the workers' (not claimed again).
                Err(()) => self.no_claim = true,
            }
        }
        // SAFETY: claimed from q's pool by this wait, which alone owns it and lets go of it here.
        unsafe { q.give_back_claimed(r) };
        nested::end_claim();
    }

    /// A wait nested in a signal handler whose list names the request that a wait of this thread
    /// it interrupted has claimed (asleep on it): takes that claim and gives the request back to
    /// its readiness set (or to the helper), whose poller completes it and wakes every waiter,
    /// this one included (see `nested` for why the two waits never both act on it).
    pub(super) fn free_interrupted_claim(&self, eng: &Engine) {
        if !matches!(self.held, Held::Claim { .. }) {
            // A claim left by a wait that a handler's `siglongjmp` ended (see `nested`).
            // `Some(None)`: it had been given back already; the word is clear now.
            if let Some(Some(r)) = nested::take_abandoned(self as *const Self as usize) {
                // SAFETY: claimed by a wait that is gone, ours from the CAS in `take_abandoned`
                // on: in flight, in no list. Its queue has started.
                let qi = unsafe { r.get() }.meta().queue();
                match eng.queue_if_started(qi) {
                    Some(q) => {
                        // SAFETY: as above; the set (or the helper) owns it from here.
                        unsafe { q.give_back_claimed(r) };
                        nested::end_claim();
                    }
                    // Not reached (a claimed request's queue has started): left as it was.
                    None => nested::rest_claim(r),
                }
            }
        }
        let Target::Any { list, n } = self.target else { return };
        // SAFETY: `n` readable entries at `list` (`Wait::new`'s contract).
        let Some(r) = nested::take_claim(unsafe { core::slice::from_raw_parts(list, n) }) else { return };
        // SAFETY: claimed by the interrupted wait, which cannot run before this handler returns:
        // in flight, in no list, ours from the CAS in `take_claim` on.
        let qi = unsafe { r.get() }.meta().queue();
        match eng.queue_if_started(qi) {
            Some(q) => {
                // SAFETY: as above; the set (or the helper) owns it from here.
                unsafe { q.give_back_claimed(r) };
                nested::lost_claim();
            }
            // A claimed request's queue has started: not reached; left to its owner.
            None => nested::rest_claim(r),
        }
    }
}
