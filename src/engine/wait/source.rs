//! A wait's sleep on a kernel completion source (a queue's ring or kernel AIO context) whose reap
//! lock it holds, or borrows from the wait it interrupted (see `nested`).

use core::time::Duration;

use super::{nested, Held, Wait, WaitSet, RING_SLEEP_CAP};
use crate::engine::complete::reap_source;
use crate::engine::core::Engine;
use crate::engine::queue::Queue;
use crate::engine::request::Backend;
use crate::sys::{self, Guard, SleepCall};

impl<'e> Wait<'e> {
    /// If everything awaited sits in one kernel source and its reap lock is free, takes the lock
    /// and prepares to sleep in `ppoll` on the source's descriptor: the ring (readable while its
    /// completion queue holds entries) or the kernel AIO eventfd (every iocb signals it; it is
    /// drained only by a holder of the context's reap lock, before it looks at the context, so a
    /// completion is either seen there or signalled afterwards).
    ///
    /// A dead ring is not slept on (see the module documentation), and neither is a kernel AIO
    /// eventfd whose number is no longer ours (its helper polls a new one once a program thread
    /// made it, and bumps the event counter).
    ///
    /// A request awaited there may move to another engine (it falls back to the workers, or a
    /// parked fsync is cancelled): whoever moves it records that (`Engine::moved`) and then wakes
    /// the source. That wake-up may have been taken by the lock's previous holder, or by the
    /// eventfd's drain here, so the count of moves, read (`moves`) before the requests were
    /// looked at, is read again once the lock is held and the source drained: if it changed, the
    /// wait looks again instead of sleeping.
    ///
    /// A wait nested in a signal handler that finds the lock held by the wait it interrupted,
    /// asleep on that source, borrows the lock (see `nested`) and goes on as if it held it.
    pub(super) fn sleep_on_source(
        &mut self,
        eng: &'e Engine,
        ws: WaitSet,
        left: Option<Duration>,
        moves: u32,
    ) -> Source {
        self.recover_abandoned_source(eng);
        let Some((qi, k)) = ws.single().filter(|_| !self.no_source) else { return Source::Busy };
        let q = eng.queue(qi);
        if k == Backend::Uring && q.live_ring().is_none() {
            return Source::Busy;
        }
        let (g, published) = match q.reap_lock(k).and_then(|l| l.try_lock()) {
            Some(g) => (Some(g), nested::begin_source(qi, k, self as *const Self as usize)),
            None if nested::borrow_source(qi, k) => (None, false),
            None => return Source::Busy,
        };
        if self.check(Some(eng)).0 {
            unlock(q, k, g, published);
            return Source::Done;
        }
        let mut cap = false;
        let fd = match (k, &q.ring, q.kaio()) {
            (Backend::Uring, Some(ring), _) => {
                cap = left.is_none_or(|l| l > RING_SLEEP_CAP);
                (!ring.has_completions()).then(|| ring.raw_fd())
            }
            (Backend::Kaio, _, Some(ctx)) => match q.kaio_fd.drain_current() {
                Some(efd) => (!ctx.has_pending()).then_some(efd),
                None => {
                    unlock(q, k, g, published);
                    return Source::Busy;
                }
            },
            _ => {
                unlock(q, k, g, published);
                return Source::Busy;
            }
        };
        let Some(fd) = fd else {
            // Completions are there: take them (the lock is held), then look again.
            // SAFETY: `g` holds `k`'s reap lock, or it is borrowed from the interrupted holder,
            // which touches the source only once the handler has returned (`nested`).
            unsafe { reap_source(eng, q, k, false) };
            unlock(q, k, g, published);
            return Source::Again;
        };
        if eng.moves() != moves {
            unlock(q, k, g, published);
            return Source::Again;
        }
        self.pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        self.held = Held::Source { q, k, g, published };
        if published {
            nested::rest_source(qi, k);
        }
        self.capped = cap;
        let left = if cap { Some(RING_SLEEP_CAP) } else { left };
        let ts = left.map(|l| {
            self.ts = sys::timespec(l);
            &mut self.ts
        });
        Source::Sleep(SleepCall::poll(core::slice::from_mut(&mut self.pfd), ts))
    }
}

impl Wait<'_> {
    /// Releases a source's reap lock that a wait of this thread, which a signal handler's
    /// `siglongjmp` ended, left held (see `nested`, "A wait that never came back"). One
    /// thread-local load when there is none.
    fn recover_abandoned_source(&self, eng: &Engine) {
        if matches!(self.held, Held::Source { published: true, .. }) {
            return;
        }
        let Some((qi, k)) = nested::take_abandoned_source(self as *const Self as usize) else { return };
        if let Some(q) = eng.queue_if_started(qi) {
            if let Some(l) = q.reap_lock(k) {
                // SAFETY: held by the guard of a wait that is gone (its frame was popped by the
                // jump), which nothing will ever drop or use; ours from the CAS in
                // `take_abandoned_source` on.
                unsafe { l.force_unlock() };
            }
            if k == Backend::Kaio {
                // The gone holder may have drained it before its sleep.
                q.kaio_fd.signal();
            }
            q.wake();
        }
        nested::end_source();
    }
}

/// What [`Wait::sleep_on_source`] found.
pub(super) enum Source {
    /// Sleep in this call (the source's reap lock is held, or borrowed).
    Sleep(SleepCall),
    /// The wait is over.
    Done,
    /// Completions were reaped: look again.
    Again,
    /// No single source, or its lock is busy: sleep on the event counter.
    Busy,
}

/// Lets go of source `k` of `q`: releases its reap lock `g` (cleared in this thread's word first
/// if it was `published` there), or, borrowed (None), gives it back to the interrupted holder,
/// with a signal on the kernel AIO eventfd in case this drained it before the holder went to
/// sleep on it (a spurious wake-up costs the holder one look).
pub(super) fn unlock<'e>(q: &'e Queue, k: Backend, g: Option<Guard<'e, ()>>, published: bool) {
    match g {
        Some(g) => {
            if published {
                nested::end_source();
            }
            q.release_reap(g);
        }
        None => {
            if k == Backend::Kaio {
                q.kaio_fd.signal();
            }
            nested::return_source(q.idx, k);
        }
    }
}
