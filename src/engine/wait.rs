//! Waiting and polling: `aio_suspend`, `lio_listio(LIO_WAIT)`, `aio_cancel` and `aio_error`.
//!
//! A cross-CPU thread wake-up costs about 12 µs on the reference machine, ten times a page-cached
//! read, so a waiter reaps its own completions whenever it can: if everything awaited sits in one
//! kernel source (one queue's ring, or its AIO context), the waiter takes that source's reap lock
//! and sleeps *in the kernel* on it, then reaps itself. Otherwise it sleeps on the engine's event
//! counter while the helpers of the queues involved reap. `aio_error` on a request in progress
//! makes one non-blocking attempt to reap its queue ([`status`]).
//!
//! A wait is a [`Wait`] driven step by step ([`Wait::step`]): each step reaps, decides, and either
//! ends the wait or says which one system call to sleep in (a `sys::SleepCall`), holding what that
//! sleep needs (a reap lock, or watch counts and an event-counter registration) until the next
//! step. The sleep itself is made by whoever drives the wait: [`run`] for the library's own waits
//! (`aio_cancel`), and the C frame of `aio_suspend` and `lio_listio` (`src/posix/frame.c`), which
//! makes it with cancellation enabled and, if the thread is cancelled in it, drops the `Wait`,
//! which lets go of everything held. Both sleeps used (`ppoll` on a ring or the kernel AIO
//! eventfd, `FUTEX_WAIT` on the event counter) are restarted by the kernel after a stop and
//! continue, and fail with EINTR only when a signal handler ran; the deadline is absolute, so it
//! is kept across restarts.
//!
//! Our descriptors may be taken from us (`closefrom`, `dup2` over them; see `sys::OwnEventFd`).
//! The kernel AIO eventfd is checked before each sleep on it. The ring's number is not (that
//! would cost a system call on the fast path): a sleep on a ring is capped at [`RING_SLEEP_CAP`],
//! and after a capped sleep that timed out, a wake-up that found no completion, or POLLNVAL, the
//! number is checked (`Ring::checked_fd`), which marks a ring whose number was taken dead. A dead
//! ring is never slept on: its helper polls it (or, without its number, looks at its completions'
//! memory after each timeout) and bumps the event counter.
//!
//! Async-signal-safe: only try-locks, no allocation.

use core::ffi::c_int;
use core::time::Duration;

use super::backend::threads::Taken;
use super::backend::uring::CancelSlot;
use super::complete::{reap, reap_source};
use super::core::{get, Engine};
use super::deferred;
use super::group::Group;
use super::queue::Queue;
use super::request::{Backend, Meta, Phase, Req, ReqPtr};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::sys::{self, Guard, SleepCall};

mod local;
mod nested;
mod own;
mod source;
use local::counter;
pub(crate) use own::{wait_done, wait_slot, wait_worker};
use source::Source;
mod spin;

/// What [`Wait`] sleeps on.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WaitSet {
    /// Queues whose io_uring holds awaited requests (bit i = queue i).
    ring_queues: u64,
    /// Queues whose kernel AIO context holds awaited requests.
    kaio_queues: u64,
    /// True if some awaited request can only be completed by someone else (workers, a helper).
    others: bool,
    /// The queues the awaited requests belong to (`Meta::queue`), whatever their backend.
    homes: u64,
    /// Queues with an awaited request on a file (not a stream) on their workers' list or run by
    /// one of them now: done as soon as a worker gets to it, if it is quick (see [`Wait::spin`]).
    soon: u64,
}

impl WaitSet {
    /// A set waiting for something only others complete (workers, helpers).
    pub(crate) fn others() -> WaitSet {
        WaitSet { others: true, ..WaitSet::default() }
    }

    /// A set waiting on queue `q`'s ring alone.
    pub(crate) fn ring_of(q: usize) -> WaitSet {
        WaitSet { ring_queues: 1 << q, homes: 1 << q, ..WaitSet::default() }
    }

    /// Adds a request (in flight, EINPROGRESS) whose meta is `m` and phase `phase` (all it reads).
    pub(crate) fn add(&mut self, m: Meta, phase: Phase) {
        let bit = 1u64 << m.queue();
        self.homes |= bit;
        match m.backend() {
            Backend::Uring => self.ring_queues |= bit,
            Backend::Kaio => self.kaio_queues |= bit,
            Backend::Threads => self.others = true,
        }
        if m.backend() == Backend::Threads && !m.stream() && matches!(phase, Phase::Queued | Phase::Issued) {
            self.soon |= bit;
        }
        // An fsync waiting for its predecessors is issued to its backend, in this queue, by
        // whoever completes the last of them (a helper watches meanwhile: see `fd`), so its own
        // completion arrives in that source like an issued request's; if it goes elsewhere (it
        // falls back to the workers, or is cancelled) that source is woken. Anything else not yet
        // in the kernel (chained, held, deferred to the helper) is someone else's to issue.
        let parked_sync = phase == Phase::Waiting && m.barrier();
        if phase != Phase::Issued && !parked_sync {
            self.others = true;
        }
    }

    fn queues(&self) -> u64 {
        self.ring_queues | self.kaio_queues
    }

    /// The one kernel source to sleep on, if everything awaited is there.
    fn single(&self) -> Option<(usize, Backend)> {
        if self.others || self.queues().count_ones() != 1 {
            return None;
        }
        match (self.ring_queues, self.kaio_queues) {
            (r, 0) => Some((r.trailing_zeros() as usize, Backend::Uring)),
            (0, k) => Some((k.trailing_zeros() as usize, Backend::Kaio)),
            _ => None,
        }
    }
}

/// The indexes of the bits set in `m`.
pub(crate) fn bits(mut m: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        (m != 0).then(|| {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            i
        })
    })
}

/// What a wait is for.
pub(crate) enum Target {
    /// `aio_suspend`: one of the `n` entries at `list` (NULL entries ignored) is no longer in
    /// progress. The list is the C caller's, readable for the call the wait belongs to.
    Any { list: *const *const Aiocb, n: usize },
    /// `lio_listio(LIO_WAIT)`: every member of `group` is done; `ws` is where they went, and
    /// `refused` the error of an entry refused at submission. The wait owns the submitter's
    /// reference to the group.
    Group { group: *const Group, ws: WaitSet, refused: Option<Errno> },
    /// `aio_cancel`: `r` (live for the whole wait) is no longer in progress.
    Done(ReqPtr),
    /// `aio_cancel`: the answer of an io_uring cancel on queue `q` has arrived.
    Slot { slot: *const CancelSlot, q: usize },
    /// `aio_cancel(fd, NULL)`: the worker of queue `q` that request `t` was taken from has
    /// finished it (the request itself may be reaped and freed by then: it is never looked at).
    Worker { q: usize, t: Taken },
}

/// The longest sleep on a ring at once (see the module documentation).
pub(crate) const RING_SLEEP_CAP: Duration = Duration::from_millis(500);

/// What [`Wait::step`] decided.
pub(crate) enum Step {
    /// The wait is over: `Ok`, or its error (EAGAIN: the timeout passed; EINTR: a signal handler
    /// ran; for a list, EIO or the error of a refused entry).
    Done(Result<(), Errno>),
    /// Sleep in this system call, then call `step` again with its outcome.
    Sleep(SleepCall),
}

/// What a sleep holds until the next step (or until the wait is dropped).
enum Held<'e> {
    Nothing,
    /// The reap lock of kernel source `k` of `q`, slept on (nobody else can take its completions
    /// meanwhile; other waiters on it sleep on the event counter, which the holder bumps for every
    /// completion it reaps).
    /// `g` None: borrowed from the wait this one interrupted; `published`: named in this
    /// thread's word (see `nested`).
    Source {
        q: &'e Queue,
        k: Backend,
        g: Option<Guard<'e, ()>>,
        published: bool,
    },
    /// Watch counts on these queues (their helpers reap) and a registration with an event
    /// counter: the engine's, or that of queue `local` when every awaited request is its own.
    Counter {
        queues: u64,
        local: Option<usize>,
    },
    /// A parked stream request of `q`'s workers, claimed (see `local`).
    Claim {
        q: &'e Queue,
        r: ReqPtr,
    },
}

/// A wait in progress; see the module documentation. Dropping it lets go of everything it holds
/// (and of a list's group reference).
pub(crate) struct Wait<'e> {
    eng: Option<&'e Engine>,
    target: Target,
    /// Absolute (CLOCK_MONOTONIC), or None: no limit.
    deadline: Option<Duration>,
    held: Held<'e>,
    /// A source's descriptor became unusable (POLLNVAL): sleep on the event counter instead.
    no_source: bool,
    /// A claimed request had no non-blocking transfer: claim no more (see `local`).
    no_claim: bool,
    /// The last sleep on a ring was shortened to `RING_SLEEP_CAP`.
    capped: bool,
    /// The sleep's timeout and descriptor, named by the `SleepCall` last returned.
    ts: libc::timespec,
    pfd: libc::pollfd,
}

// SAFETY: the raw pointers in `Target` name the caller's list, a group and a cancel slot, all
// readable from any thread for the wait's duration; a wait is driven by one thread at a time.
unsafe impl Send for Wait<'_> {}

impl<'e> Wait<'e> {
    /// A wait for `target`, up to `timeout` (None: no limit) from now.
    ///
    /// # Safety
    /// What `target` names stays live (and readable) until the wait is dropped.
    pub(crate) unsafe fn new(eng: Option<&'e Engine>, target: Target, timeout: Option<Duration>) -> Wait<'e> {
        Wait {
            eng,
            target,
            deadline: timeout.map(|t| sys::now().saturating_add(t)),
            held: Held::Nothing,
            no_source: false,
            no_claim: false,
            capped: false,
            ts: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            pfd: libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 },
        }
    }

    /// A wait for the worker of queue `q` that `t` was taken from (no limit).
    fn new_for_worker(eng: &'e Engine, q: usize, t: Taken) -> Wait<'e> {
        // SAFETY: `Target::Worker` names no memory of the caller's.
        unsafe { Wait::new(Some(eng), Target::Worker { q, t }, None) }
    }

    /// Whether the wait is over, and if not, what it waits on.
    fn check(&self, eng: Option<&Engine>) -> (bool, WaitSet) {
        let mut ws = WaitSet::default();
        match self.target {
            // SAFETY: `n` readable entries at `list`, each NULL or a readable aiocb (`new`'s
            // contract).
            Target::Any { list, n } => unsafe { any_state(core::slice::from_raw_parts(list, n), eng) },
            // SAFETY: the wait holds a reference to the group (`new`'s contract).
            Target::Group { group, ws, .. } => (unsafe { (*group).all_done() }, ws),
            Target::Done(r) => {
                // SAFETY: live for the whole wait (`new`'s contract); only read.
                let req = unsafe { r.get() };
                if req.status() != libc::EINPROGRESS {
                    return (true, ws);
                }
                ws.add(req.meta(), req.state().phase());
                (false, ws)
            }
            // SAFETY: the slot is live until it is done (`new`'s contract).
            Target::Slot { slot, q } => (unsafe { (*slot).is_done() }, WaitSet::ring_of(q)),
            Target::Worker { q, t } => match eng {
                Some(eng) => (eng.queue(q).pool.finished(t), WaitSet::others()),
                None => (true, ws),
            },
        }
    }

    /// The outcome of a wait that is over.
    fn result(&self) -> Result<(), Errno> {
        match self.target {
            Target::Group { refused: Some(e), .. } => Err(e),
            // SAFETY: the wait holds a reference to the group.
            Target::Group { group, .. } if unsafe { (*group).any_failed() } => Err(Errno::EIO),
            _ => Ok(()),
        }
    }

    /// Time left: `Some(None)` without a deadline, `None` once it has passed.
    fn left(&self) -> Option<Option<Duration>> {
        match self.deadline {
            None => Some(None),
            Some(d) => {
                let now = sys::now();
                (now < d).then(|| Some(d - now))
            }
        }
    }

    /// The timeout of the next sleep, stored in the wait (the sleep names it).
    fn timeout(&mut self, left: Option<Duration>) -> Option<&mut libc::timespec> {
        let left = left?;
        self.ts = sys::timespec(left);
        Some(&mut self.ts)
    }

    /// Lets go of what the last sleep held; with `reap`, first takes what the slept-on source
    /// has (while its lock is still held).
    fn release(&mut self, reap: bool) {
        let eng = self.eng;
        match core::mem::replace(&mut self.held, Held::Nothing) {
            Held::Nothing => {}
            Held::Source { q, k, g, published } => {
                // Also on a drop (a cancellation in the sleep), before the reap.
                if published && !nested::source_busy(q.idx, k) {
                    // Taken over as abandoned (see `nested`): the lock is not ours to release.
                    core::mem::forget(g);
                    return;
                }
                if let (true, Some(eng)) = (reap, eng) {
                    // SAFETY: `g` holds `k`'s reap lock, or it is borrowed (see `nested`).
                    unsafe { reap_source(eng, q, k, false) };
                }
                source::unlock(q, k, g, published);
            }
            Held::Counter { queues, local } => {
                if let Some(eng) = eng {
                    counter(eng, local).unprepare();
                    for qi in bits(queues) {
                        eng.queue(qi).watch_dec();
                    }
                }
            }
            Held::Claim { q, r } if nested::use_claim(r) => self.release_claim(q, r, reap),
            // Taken by a nested wait (see `nested`): the request is no longer ours to touch.
            Held::Claim { .. } => {}
        }
    }

    /// One step: `slept` is the outcome of the sleep the previous step asked for (None at the
    /// first step).
    pub(crate) fn step(&mut self, slept: Option<Result<isize, Errno>>) -> Step {
        if let Held::Source { q, k, published: true, .. } = self.held {
            // Ours to touch again: no nested wait may borrow it from here on (see `nested`),
            // unless a later wait took it over as abandoned: then it is forgotten.
            if !nested::source_busy(q.idx, k) {
                if let Held::Source { g, .. } = core::mem::replace(&mut self.held, Held::Nothing) {
                    core::mem::forget(g);
                }
            }
        }
        if let (Held::Source { q, k, .. }, Some(r)) = (&self.held, slept) {
            let nval = self.pfd.revents & libc::POLLNVAL != 0;
            if nval {
                self.no_source = true;
            }
            if let (Backend::Uring, Some(ring)) = (k, &q.ring) {
                // Is the number still the ring's? Only asked off the fast path: after a capped
                // sleep that timed out, a wake-up with nothing to reap, or POLLNVAL.
                let suspect = match r {
                    Ok(0) => self.capped,
                    Ok(_) => nval || !ring.has_completions(),
                    Err(_) => false,
                };
                if suspect {
                    let _ = ring.checked_fd();
                }
            }
        }
        self.release(true);
        if self.eng.is_none() {
            self.eng = get();
        }
        if slept == Some(Err(Errno::EINTR)) {
            // A signal handler ran: POSIX wants EINTR, unless the wait is over anyway.
            let done = self.check(self.eng).0;
            return Step::Done(if done { self.result() } else { Err(Errno::EINTR) });
        }
        loop {
            let (done, ws) = self.check(self.eng);
            if done {
                return Step::Done(self.result());
            }
            if let Some(eng) = self.eng {
                for qi in bits(ws.queues()) {
                    reap(eng, eng.queue(qi), false);
                }
            }
            // Read before the requests are looked at (see `Engine::moved`).
            let moves = self.eng.map_or(0, Engine::moves);
            let (done, ws) = self.check(self.eng);
            if done {
                return Step::Done(self.result());
            }
            let Some(left) = self.left() else { return Step::Done(Err(Errno::EAGAIN)) };
            let Some(eng) = self.eng else {
                // Nothing was ever submitted in this process: only the time can pass.
                return Step::Sleep(SleepCall::poll(&mut [], self.timeout(left)));
            };
            match self.sleep_on_source(eng, ws, left, moves) {
                Source::Sleep(call) => return Step::Sleep(call),
                Source::Done => return Step::Done(self.result()),
                Source::Again => continue,
                Source::Busy => {}
            }
            let mut left = left;
            if ws.soon != 0 {
                if self.spin(eng, ws.soon, left) {
                    return Step::Done(self.result());
                }
                // The sleep's timeout counts from now.
                let Some(l) = self.left() else { return Step::Done(Err(Errno::EAGAIN)) };
                left = l;
            }
            self.free_interrupted_claim(eng);
            if let Some(call) = self.sleep_claimed(eng, ws, left) {
                return Step::Sleep(call);
            }
            // Otherwise someone else reaps: make the helpers of our queues watch, and sleep.
            for qi in bits(ws.queues()) {
                eng.queue(qi).watch_inc();
            }
            let local = self.local_queue(eng, ws);
            let ev = counter(eng, local);
            let ticket = ev.prepare();
            self.held = Held::Counter { queues: ws.queues(), local };
            if self.check(Some(eng)).0 {
                self.release(false);
                return Step::Done(self.result());
            }
            let ts = self.timeout(left);
            return Step::Sleep(ev.sleep_call(ticket, ts.map(|t| &*t)));
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.release(false);
        if let (Target::Group { group, .. }, Some(eng)) = (&self.target, self.eng) {
            // SAFETY: the wait owned the submitter's reference to the group; the members hold
            // their own, so the group lives on until the last of them completes.
            unsafe { Group::release(eng, *group, true) };
        }
    }
}

/// Drives `w` to its end, sleeping here (no cancellation point).
pub(crate) fn run(mut w: Wait<'_>) -> Result<(), Errno> {
    let mut slept = None;
    loop {
        match w.step(slept) {
            Step::Done(r) => return r,
            // SAFETY: the call names memory of `w`, which lives (unmoved) across the sleep.
            Step::Sleep(call) => slept = Some(unsafe { call.run() }),
        }
    }
}

/// `aio_error`: the status of `req`. If it is still in progress on a kernel queue, makes one
/// non-blocking attempt to reap that queue, so polling makes progress without any helper thread.
#[inline(always)]
pub(crate) fn status(req: &Req<'_>) -> c_int {
    match req.status() {
        libc::EINPROGRESS => status_in_progress(req),
        e => e,
    }
}

/// [`status`] of a request found in progress: the reap (out of line, so that a final status is
/// read with no frame set up).
#[inline(never)]
fn status_in_progress(req: &Req<'_>) -> c_int {
    let e = libc::EINPROGRESS;
    if let Some(eng) = get() {
        if req.in_flight(eng.epoch) {
            let m = req.meta();
            if m.backend() != Backend::Threads {
                if let Some(q) = eng.queue_if_started(m.queue()) {
                    // A deferred read is issued first (async-signal-safe: a try-lock).
                    deferred::flush(eng, q, false);
                    reap(eng, q, false);
                }
            }
            return req.status();
        }
    }
    e
}

/// Whether `aio_suspend` on `entries` is done: one of them (NULL entries ignored) is no longer in
/// progress, or none is listed at all (glibc returns 0 at once for both); if not, where those in
/// flight in `eng` are.
///
/// # Safety
/// Each non-NULL entry points to a readable aiocb.
unsafe fn any_state(entries: &[*const Aiocb], eng: Option<&Engine>) -> (bool, WaitSet) {
    let mut ws = WaitSet::default();
    let mut listed = false;
    let mut last = None; // A list of like requests: one adds what all would (`WaitSet::add`).
    for &p in entries {
        let Some(r) = ReqPtr::new(p as *mut Aiocb) else { continue };
        listed = true;
        // SAFETY: a non-NULL entry is a readable aiocb (caller); only read.
        let req = unsafe { r.get() };
        if req.status() != libc::EINPROGRESS {
            return (true, ws);
        }
        if eng.is_some_and(|e| req.in_flight(e.epoch)) {
            let key = (req.meta(), req.state().phase());
            if last.replace(key) != Some(key) {
                ws.add(key.0, key.1);
            }
        } else {
            // Not in flight here (yet): it may complete on any queue (see `WaitSet::home`).
            ws.homes = u64::MAX;
        }
    }
    (!listed, ws)
}

/// `aio_suspend`: a wait until one of `entries` (NULL entries ignored) is no longer in progress,
/// the timeout passes (`EAGAIN`), or a signal handler runs (`EINTR`). `Ok(None)` if there is
/// nothing to wait for: one is done, or the list names none, which is decided before the
/// timeout is read (`timeout`, whose error is returned otherwise, as glibc does), or one is done
/// after a first non-blocking reap of the queues involved (the common case, settled before any
/// wait is set up).
///
/// # Safety
/// Each non-NULL entry points to a readable aiocb, and the list stays readable, while the wait
/// lives.
pub(crate) unsafe fn wait_any(
    entries: &[*const Aiocb],
    timeout: impl FnOnce() -> Result<Option<Duration>, Errno>,
) -> Result<Option<Wait<'static>>, Errno> {
    let eng = get();
    // SAFETY: each non-NULL entry is a readable aiocb (caller).
    let (done, ws) = unsafe { any_state(entries, eng) };
    if done {
        return Ok(None);
    }
    let timeout = timeout()?;
    if let Some(eng) = eng.filter(|_| ws.queues() != 0) {
        for qi in bits(ws.queues()) {
            // Deferred reads among those awaited are issued first (a try-lock).
            deferred::flush(eng, eng.queue(qi), false);
            reap(eng, eng.queue(qi), false);
        }
        // SAFETY: as above.
        if unsafe { any_state(entries, Some(eng)) }.0 {
            return Ok(None);
        }
    }
    let target = Target::Any { list: entries.as_ptr(), n: entries.len() };
    // SAFETY: the list and its entries stay readable while the wait lives (caller).
    Ok(Some(unsafe { Wait::new(eng, target, timeout) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::request::{Meta, Op};

    fn issued(q: usize, b: Backend) -> Box<Aiocb> {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        let mut a = Box::new(unsafe { core::mem::zeroed::<Aiocb>() });
        let r = ReqPtr::new(&mut *a).unwrap();
        // SAFETY: the box is live and only this test uses it.
        let req = unsafe { r.get() };
        req.start(1, Meta::new(q, b, Op::Read), core::ptr::null_mut(), core::ptr::null());
        req.issue();
        a
    }

    fn set_of(cbs: &mut [Box<Aiocb>]) -> WaitSet {
        let mut ws = WaitSet::default();
        for a in cbs {
            // SAFETY: live boxes of this test.
            let req = unsafe { ReqPtr::new(&mut **a).unwrap().get() };
            ws.add(req.meta(), req.state().phase());
        }
        ws
    }

    #[test]
    fn one_ring_is_slept_on() {
        let mut v = [issued(3, Backend::Uring), issued(3, Backend::Uring)];
        assert_eq!(set_of(&mut v).single(), Some((3, Backend::Uring)));
        assert_eq!(set_of(&mut v), WaitSet::ring_of(3));
        let mut k = [issued(5, Backend::Kaio)];
        assert_eq!(set_of(&mut k).single(), Some((5, Backend::Kaio)));
    }

    #[test]
    fn a_parked_fsync_is_slept_on_where_it_will_be_issued() {
        let mut v = [issued(2, Backend::Kaio), issued(2, Backend::Kaio)];
        // SAFETY: live box of this test.
        let f = unsafe { ReqPtr::new(&mut *v[1]).unwrap().get() };
        f.set_meta(Meta::new(2, Backend::Kaio, Op::Fsync).with_barrier(true));
        f.park();
        assert_eq!(set_of(&mut v).single(), Some((2, Backend::Kaio)));
        f.set_meta(Meta::new(2, Backend::Threads, Op::Fsync).with_barrier(true));
        assert_eq!(set_of(&mut v).single(), None, "a worker's fsync: someone else completes it");
    }

    #[test]
    fn anything_else_sleeps_on_the_event_counter() {
        // Two queues.
        let mut v = [issued(1, Backend::Uring), issued(2, Backend::Uring)];
        assert_eq!(set_of(&mut v).single(), None);
        assert_eq!(bits(set_of(&mut v).queues()).collect::<Vec<_>>(), [1, 2]);
        // Ring and AIO context of one queue.
        let mut v = [issued(1, Backend::Uring), issued(1, Backend::Kaio)];
        assert_eq!(set_of(&mut v).single(), None);
        // A worker's request.
        let mut v = [issued(1, Backend::Uring), issued(1, Backend::Threads)];
        assert_eq!(set_of(&mut v).single(), None);
        // A request not yet in the kernel (parked on its fd, or deferred to the helper).
        let mut v = [issued(1, Backend::Uring)];
        // SAFETY: live box of this test.
        unsafe { ReqPtr::new(&mut *v[0]).unwrap().get() }.park();
        let ws = set_of(&mut v);
        assert!(ws.others && ws.single().is_none());
        // SAFETY: live box of this test.
        unsafe { ReqPtr::new(&mut *v[0]).unwrap().get() }.defer();
        assert!(set_of(&mut v).single().is_none());
        // Nothing at all.
        assert_eq!(WaitSet::default().single(), None);
    }

    /// The queue whose event counter a wait may sleep on: the one all awaited requests belong
    /// to, whatever their backend or phase; none when they belong to two.
    #[test]
    fn one_home_queue_whatever_the_backend() {
        let mut v = [issued(2, Backend::Threads), issued(2, Backend::Uring), issued(2, Backend::Kaio)];
        assert_eq!(set_of(&mut v).home(), Some(2));
        let mut v = [issued(0, Backend::Threads)];
        // SAFETY: live box of this test.
        unsafe { ReqPtr::new(&mut *v[0]).unwrap().get() }.park();
        assert_eq!(set_of(&mut v).home(), Some(0), "parked on its fd: still its queue's");
        let mut v = [issued(1, Backend::Threads), issued(4, Backend::Threads)];
        assert_eq!(set_of(&mut v).home(), None);
        assert_eq!(WaitSet::default().home(), None);
        assert_eq!(WaitSet::others().home(), None);
    }

    /// A wait spins before it sleeps only while an awaited request on a file is with the workers
    /// (queued for them or run by one): not for a stream's (it waits for its peer), nor for a
    /// kernel source's, nor for one parked on its fd.
    #[test]
    fn only_file_requests_with_the_workers_are_spun_for() {
        let mut v = [issued(0, Backend::Threads)];
        assert_eq!(set_of(&mut v).soon, 1, "run by a worker");
        // SAFETY: live box of this test.
        let req = unsafe { ReqPtr::new(&mut *v[0]).unwrap().get() };
        req.queue_for_workers();
        assert_eq!(set_of(&mut v).soon, 1, "on the workers' list");
        req.park();
        assert_eq!(set_of(&mut v).soon, 0, "parked on its fd: waits for others");
        req.set_meta(Meta::new(0, Backend::Threads, Op::Read).with_stream(true));
        req.queue_for_workers();
        assert_eq!(set_of(&mut v).soon, 0, "a stream waits for its peer");
        let mut k = [issued(0, Backend::Uring), issued(0, Backend::Kaio)];
        assert_eq!(set_of(&mut k).soon, 0);
    }

    /// An aiocb that reads EINPROGRESS but is in flight in no engine (its tag is zero): nothing
    /// can complete it.
    fn stray_pending() -> Box<Aiocb> {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        let mut a = Box::new(unsafe { core::mem::zeroed::<Aiocb>() });
        a.__error_code = libc::EINPROGRESS;
        a
    }

    #[test]
    fn nothing_to_wait_for_when_one_is_done_or_none_is_listed() {
        let pending = stray_pending();
        // SAFETY: a zeroed aiocb: status 0, i.e. done.
        let done = Box::new(unsafe { core::mem::zeroed::<Aiocb>() });
        let (p, d): (*const Aiocb, *const Aiocb) = (&*pending, &*done);
        let bad = || Err(Errno::EINVAL);
        // SAFETY: every non-NULL entry is a live box of this test.
        unsafe {
            // Decided before the timeout is read.
            assert!(matches!(wait_any(&[], bad), Ok(None)));
            assert!(matches!(wait_any(&[core::ptr::null(), core::ptr::null()], bad), Ok(None)));
            assert!(matches!(wait_any(&[p, d], bad), Ok(None)));
            assert!(matches!(wait_any(&[p, core::ptr::null()], bad), Err(Errno::EINVAL)));
        }
    }

    #[test]
    fn a_wait_ends_at_its_deadline_or_at_once_when_done() {
        let pending = stray_pending();
        // SAFETY: a zeroed aiocb: status 0, i.e. done.
        let done = Box::new(unsafe { core::mem::zeroed::<Aiocb>() });
        let list = [&*pending as *const Aiocb];
        // SAFETY: the list and its entry outlive the wait.
        let w = unsafe { wait_any(&list, || Ok(Some(Duration::from_millis(20)))) }.unwrap().unwrap();
        let t0 = sys::now();
        assert_eq!(run(w), Err(Errno::EAGAIN));
        assert!(sys::now() - t0 >= Duration::from_millis(20));
        // SAFETY: as above.
        let mut w = unsafe { wait_any(&list, || Ok(Some(Duration::ZERO))) }.unwrap().unwrap();
        assert!(matches!(w.step(None), Step::Done(Err(Errno::EAGAIN))));
        let list = [&*pending as *const Aiocb, &*done as *const Aiocb];
        // SAFETY: as above.
        assert!(matches!(unsafe { wait_any(&list, || Ok(None)) }, Ok(None)));
    }
}
