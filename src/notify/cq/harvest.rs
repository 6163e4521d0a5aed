//! The harvest side of a queue: handing completions out (`Harvest`, driven by `engine::cq`), and
//! [`complete`], where a finished request's entry arrives. Everything here is async-signal-safe.

use core::sync::atomic::Ordering::*;
use core::time::Duration;

use super::entry::Node;
use super::{QueueRef, MAX_QUEUES, OPEN};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::sys;

/// How long a harvest naps when the queue's descriptors could not be made again (no descriptor
/// free) or a source could not be added back, before it looks again.
pub(crate) const LOST_NAP: Duration = Duration::from_millis(10);

/// A completion handed out by a harvest.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Completed {
    pub(crate) aiocb: *mut Aiocb,
    /// The request's result: a count, or `-errno`.
    pub(crate) res: isize,
}

/// A harvester's use of a queue (see [`QueueRef::harvest`]). Everything here is async-signal-safe.
pub(crate) struct Harvest {
    pub(super) q: QueueRef,
}

impl Drop for Harvest {
    fn drop(&mut self) {
        self.q.cq.exit();
    }
}

impl Harvest {
    /// Whether the queue is still open and its number still names it (one `fcntl`; not asked
    /// when `named`: the caller looked the number up within this call); closes it if not.
    pub(crate) fn still_open(&self, named: bool) -> bool {
        let cq = self.q.cq;
        if cq.state.load(Acquire) & OPEN == 0 {
            return false;
        }
        if named || cq.still_named() {
            return true;
        }
        cq.shut(self.q.gen);
        false
    }

    /// Takes the readiness of the queue's descriptor, without a system call when the kernel
    /// announced the completions: the eventfd is drained only when the library signalled it
    /// (`Cq::signal_now`), and the epoll set's events are taken only when the queue has a kernel
    /// AIO eventfd or parked stream requests in it (an io_uring ring's edge needs nothing: once
    /// its completions are reaped the ring is no longer readable, and epoll drops the edge when it
    /// looks again; a kernel AIO eventfd stays readable, nobody of ours drains it, so its edge
    /// must be taken here; a stream's registration is one shot, taken here, its tag for the
    /// harvest to claim the request). The streams' tags go to `streams`; how many.
    pub(crate) fn consume(&self, streams: &mut [u64; 16]) -> usize {
        let cq = self.q.cq;
        let mut n = 0;
        if cq.attached[1].load(Acquire) != 0 || cq.streams.load(Acquire) != 0 {
            let ep = cq.ep.load(Relaxed);
            if cq.ours(ep) {
                let mut tags = [0u64; 16];
                let k = sys::epoll_take(ep, &mut tags);
                for &t in &tags[..k] {
                    if super::stream_of(t).is_some() {
                        streams[n] = t;
                        n += 1;
                    }
                }
            }
        }
        if cq.signalled.swap(0, AcqRel) != 0 {
            let efd = cq.efd.load(Relaxed);
            if cq.ours(efd) {
                sys::efd_drain(efd);
            }
        }
        n
    }

    /// The engine queues this queue has requests in flight on (bit i = queue i).
    pub(crate) fn queues(&self) -> u64 {
        let mut m = 0u64;
        for (i, c) in self.q.cq.inflight.iter().enumerate() {
            if c.load(Acquire) != 0 {
                m |= 1 << i;
            }
        }
        m
    }

    /// Runs `f` (the harvester's reaping) with the queue marked as being harvested: requests of
    /// the queue finished meanwhile, by this thread or any other, are queued without a signal,
    /// because a harvester takes what is queued right after (the caller calls [`Harvest::take`]
    /// next, and [`Harvest::signal`] if it leaves anything).
    ///
    /// No completion is left unsignalled and untaken: a finisher pushes its entry and then reads
    /// `harvesting` (both SeqCst), a harvester decrements `harvesting` and then takes (a SeqCst
    /// swap of the stack's head). In the single total order either the finisher's read comes after
    /// the last harvester's decrement (it sees 0 and signals), or before it, and then the push too
    /// precedes that harvester's take, which takes the entry (or leaves it and signals).
    pub(crate) fn reaping<R>(&self, f: impl FnOnce() -> R) -> R {
        self.q.cq.harvesting.fetch_add(1, SeqCst);
        let r = f();
        self.q.cq.harvesting.fetch_sub(1, SeqCst);
        r
    }

    /// Hands out up to `out.len()` completions, oldest first as far as they can be told apart.
    ///
    /// Several harvesters may `take_all` from `done` at once (the one under `ready`'s lock and
    /// those that could not get it). `sys::Stack` speaks of one consumer at a time, and that is
    /// about a chain, not the head: each `take_all` is one swap of the head, so concurrent ones
    /// take disjoint chains, and each then touches only the links of its own chain. Entries put
    /// back are pushed like any other.
    pub(crate) fn take(&self, out: &mut [Completed]) -> usize {
        let cq = self.q.cq;
        let want = out.len();
        let mut n = 0;
        let mut give = |node: *mut Node, n: &mut usize| {
            // SAFETY: a node taken off `done` or `ready` is live (never freed) and ours now.
            let (gen, c) = unsafe { ((*node).gen, Completed { aiocb: (*node).aiocb, res: (*node).res }) };
            if gen == self.q.gen {
                out[*n] = c;
                *n += 1;
                cq.outstanding.fetch_sub(1, AcqRel);
            }
            // SAFETY: ours, in no list, live: back to the spares.
            unsafe { cq.spare.push(node) };
        };
        match cq.ready.try_lock() {
            Some(mut ready) => {
                for node in cq.done.take_all() {
                    // SAFETY: taken off `done`: live, ours, in no list.
                    unsafe { ready.push(node) };
                }
                while n < want {
                    let Some(node) = ready.pop() else { break };
                    give(node, &mut n);
                }
            }
            // Another harvester (or the thread this signal handler interrupted) holds the list:
            // take from `done` directly and put back what does not fit.
            None => {
                for node in cq.done.take_all() {
                    if n < want {
                        give(node, &mut n);
                    } else {
                        // SAFETY: the node was taken off `done` (its link already read by the
                        // iterator): live, ours, in no list.
                        unsafe { cq.done.push(node) };
                    }
                }
            }
        }
        n
    }

    /// Whether completions are left for a later harvest.
    pub(crate) fn more(&self) -> bool {
        let cq = self.q.cq;
        !cq.done.is_empty() || cq.ready.try_lock().is_none_or(|l| !l.is_empty())
    }

    /// Makes the queue's descriptor readable: the next wait returns at once.
    pub(crate) fn signal(&self) {
        self.q.cq.signal_now();
    }

    /// Makes again the library's descriptors of the queue that the program closed, if it did
    /// (one load when nothing was found lost; with `check`, two `fcntl`s besides: before a
    /// sleep). See `Cq::repair`. False if they could not be made; `blocking` as there.
    pub(crate) fn repair(&self, check: bool, blocking: bool) -> bool {
        let cq = self.q.cq;
        let lost =
            cq.wanted.load(Acquire) != 0 || check && !(cq.ours(cq.ep.load(Relaxed)) && cq.ours(cq.efd.load(Relaxed)));
        !lost || cq.repair(blocking)
    }

    /// Waits until the queue's descriptor is readable, `timeout` passes (false) or a signal
    /// handler runs (`Err(EINTR)`). The caller made sure the descriptors are ours
    /// ([`Harvest::repair`]); if they are lost again meanwhile, it naps instead, and the next
    /// round repairs them.
    pub(crate) fn sleep(&self, timeout: Option<Duration>) -> Result<bool, Errno> {
        let ep = self.q.cq.ep.load(Relaxed);
        if !self.q.cq.ours(ep) {
            self.q.cq.wanted.store(1, Release);
            return sys::wait_readable(-1, Some(timeout.map_or(LOST_NAP, |t| t.min(LOST_NAP))));
        }
        sys::wait_readable(ep, timeout)
    }
}

/// Hands a request's entry to its queue, once the request's status is published: pushes it for
/// the harvest and makes the queue readable (unless this thread is harvesting that queue), or
/// recycles it if the queue was closed meanwhile. Async-signal-safe.
///
/// # Safety
/// `node` was made by [`QueueRef::reserve`] and is handed back exactly once.
pub(crate) unsafe fn complete(node: *mut Node, res: isize) {
    // SAFETY: reserved for this request and handed back once (caller): ours until pushed.
    let (cq, gen, queue) = unsafe {
        (*node).res = res;
        (&*(*node).cq, (*node).gen, (*node).queue as usize)
    };
    cq.inflight[queue % MAX_QUEUES].fetch_sub(1, AcqRel);
    if cq.enter(gen) {
        // SAFETY: ours, live, in no list.
        unsafe { cq.done.push(node) };
        // See `Harvest::reaping` for why no wake-up is lost.
        if cq.harvesting.load(SeqCst) == 0 {
            cq.signal_now();
        }
        cq.exit();
    } else {
        // SAFETY: ours, live, in no list.
        unsafe { cq.spare.push(node) };
    }
}
