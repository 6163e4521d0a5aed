//! Waiting and polling: `aio_suspend`, `lio_listio(LIO_WAIT)`, `aio_cancel` and `aio_error`.
//!
//! A cross-CPU thread wake-up costs about 12 µs on the reference machine, ten times a page-cached
//! read, so a waiter reaps its own completions whenever it can: if everything awaited sits in one
//! kernel source (one queue's ring, or its AIO context), the waiter takes that source's reap lock
//! and sleeps *in the kernel* on it, then reaps itself ([`wait_until`]). Otherwise it sleeps on the
//! engine's event counter while the helpers of the queues involved reap. `aio_error` on a request
//! in progress makes one non-blocking attempt to reap its queue ([`status`]).
//!
//! Async-signal-safe: only try-locks, no allocation.

use core::ffi::c_int;
use core::time::Duration;

use super::backend::uring::CancelSlot;
use super::complete::{reap, reap_source};
use super::core::{get, Engine};
use super::queue::Queue;
use super::request::{Backend, Phase, Req, ReqPtr};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::sys;

/// What [`wait_until`] waits on.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WaitSet {
    /// Queues whose io_uring holds awaited requests (bit i = queue i).
    ring_queues: u64,
    /// Queues whose kernel AIO context holds awaited requests.
    kaio_queues: u64,
    /// True if some awaited request can only be completed by someone else (workers, a helper).
    others: bool,
}

impl WaitSet {
    /// A set waiting on queue `q`'s ring alone.
    pub(crate) fn ring_of(q: usize) -> WaitSet {
        WaitSet { ring_queues: 1 << q, ..WaitSet::default() }
    }

    /// Adds `req` (in flight, EINPROGRESS).
    pub(crate) fn add(&mut self, req: &Req<'_>) {
        let m = req.meta();
        let bit = 1u64 << m.queue();
        match m.backend() {
            Backend::Uring => self.ring_queues |= bit,
            Backend::Kaio => self.kaio_queues |= bit,
            Backend::Threads => self.others = true,
        }
        let phase = req.state().phase();
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
fn bits(mut m: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        (m != 0).then(|| {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            i
        })
    })
}

/// Waits until `set()` says done, reaping completions itself whenever it can. `set` returns
/// whether the wait is over and, if not, what it waits on. `Err(EAGAIN)` on timeout, `Err(EINTR)`
/// when a signal handler ran.
pub(crate) fn wait_until(
    eng: &Engine,
    set: impl Fn() -> (bool, WaitSet),
    timeout: Option<Duration>,
) -> Result<(), Errno> {
    let deadline = timeout.map(|t| sys::now() + t);
    loop {
        let (done, ws) = set();
        if done {
            return Ok(());
        }
        for qi in bits(ws.queues()) {
            reap(eng, eng.queue(qi), false);
        }
        let moves = eng.moves();
        let (done, ws) = set();
        if done {
            return Ok(());
        }
        let left = match deadline {
            Some(d) => {
                let now = sys::now();
                if now >= d {
                    return Err(Errno::EAGAIN);
                }
                Some(d - now)
            }
            None => None,
        };
        // One kernel source and nothing else: sleep in the kernel on it, then reap ourselves.
        // The sleeper holds the source's reap lock, so nobody can take its completion while it
        // sleeps (a ring sleeper without it slept on after the helper had taken its completion);
        // other waiters on the same source sleep on the event counter below, which the sleeper
        // bumps for every completion it reaps.
        if let Some((qi, k)) = ws.single() {
            let q = eng.queue(qi);
            if let Some(g) = q.reap_lock(k).and_then(|l| l.try_lock()) {
                // Look again with the lock held: a request may have finished, or moved to another
                // engine (then whoever moved it woke this source, and that wake-up may already
                // have been reaped by the lock's previous holder: see `Engine::moved`).
                if set().0 {
                    q.release_reap(g);
                    return Ok(());
                }
                if eng.moves() != moves {
                    q.release_reap(g);
                    continue;
                }
                let r = sleep_in_kernel(eng, q, k, left);
                q.release_reap(g);
                if r == Err(Errno::EINTR) {
                    return Err(Errno::EINTR);
                }
                continue;
            }
        }
        // Otherwise someone else reaps: make the helpers of our queues watch, and sleep.
        for qi in bits(ws.queues()) {
            eng.queue(qi).watch_inc();
        }
        let ticket = eng.done.prepare();
        let r = if set().0 { Ok(()) } else { eng.done.wait(ticket, left) };
        eng.done.unprepare();
        for qi in bits(ws.queues()) {
            eng.queue(qi).watch_dec();
        }
        if r == Err(Errno::EINTR) {
            return Err(Errno::EINTR);
        }
    }
}

/// Sleeps on kernel source `k` of `q` until a completion, the timeout or a signal, then reaps.
/// The caller holds `k`'s reap lock.
fn sleep_in_kernel(eng: &Engine, q: &Queue, k: Backend, left: Option<Duration>) -> Result<(), Errno> {
    match (k, &q.ring) {
        (Backend::Uring, Some(ring)) => {
            let r = if ring.has_completions() { Ok(()) } else { ring.wait(left) };
            // SAFETY: the caller holds the ring's reap lock.
            let _ = unsafe { reap_source(eng, q, k, false, None) };
            r
        }
        // SAFETY: the caller holds the context's reap lock.
        _ => unsafe { reap_source(eng, q, k, false, Some(left)) },
    }
}

/// Waits for the CQE of an internal cancel SQE on queue `q`'s ring.
pub(crate) fn wait_slot(eng: &Engine, q: &Queue, slot: &CancelSlot) {
    let _ = wait_until(eng, || (slot.is_done(), WaitSet::ring_of(q.idx)), None);
}

/// Waits (without timeout, ignoring signals) until `r` is no longer in progress.
///
/// # Safety
/// `r` is live for the whole wait (the caller's own aiocb, or one it owns a claim on).
pub(crate) unsafe fn wait_done(eng: &Engine, r: ReqPtr) {
    loop {
        let res = wait_until(
            eng,
            || {
                // SAFETY: live (caller).
                let req = unsafe { r.get() };
                if req.status() != libc::EINPROGRESS {
                    return (true, WaitSet::default());
                }
                let mut ws = WaitSet::default();
                ws.add(&req);
                (false, ws)
            },
            None,
        );
        if res != Err(Errno::EINTR) {
            return;
        }
    }
}

/// `aio_error`: the status of `req`. If it is still in progress on a kernel queue, makes one
/// non-blocking attempt to reap that queue, so polling makes progress without any helper thread.
pub(crate) fn status(req: &Req<'_>) -> c_int {
    let e = req.status();
    if e != libc::EINPROGRESS {
        return e;
    }
    if let Some(eng) = get() {
        if req.in_flight(eng.epoch) {
            let m = req.meta();
            if m.backend() != Backend::Threads {
                if let Some(q) = eng.queue_if_started(m.queue()) {
                    reap(eng, q, false);
                }
            }
            return req.status();
        }
    }
    e
}

/// `aio_suspend`: waits until one of `entries` (NULL entries ignored) is no longer in progress,
/// `timeout` passes (`EAGAIN`), or a signal handler runs (`EINTR`). Returns at once, with no
/// system call, if one is already done.
///
/// # Safety
/// Each non-NULL entry points to a readable aiocb for the call.
pub(crate) unsafe fn wait_any(entries: &[*const Aiocb], timeout: Option<Duration>) -> Result<(), Errno> {
    // SAFETY: each non-NULL entry is a readable aiocb (caller).
    let view = |p: *const Aiocb| ReqPtr::new(p as *mut Aiocb).map(|r| unsafe { r.get() });
    if entries.iter().filter_map(|&p| view(p)).any(|r| r.status() != libc::EINPROGRESS) {
        return Ok(());
    }
    let Some(eng) = get() else {
        // Nothing was ever submitted in this process: nothing can complete.
        return sys::sleep_until_signal(timeout);
    };
    wait_until(
        eng,
        || {
            let mut ws = WaitSet::default();
            for req in entries.iter().filter_map(|&p| view(p)) {
                if req.status() != libc::EINPROGRESS {
                    return (true, ws);
                }
                if req.in_flight(eng.epoch) {
                    ws.add(&req);
                }
            }
            (false, ws)
        },
        timeout,
    )
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
            ws.add(&unsafe { ReqPtr::new(&mut **a).unwrap().get() });
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
}
