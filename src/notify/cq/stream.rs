//! Parked stream requests as sources of the queue they notify, so that a program asleep in
//! `epoll_wait` on the queue is woken by the pipe or socket itself (one wake-up) and its harvest
//! makes the transfer (`engine::cq`), instead of the pool's poller waking first and then
//! signalling the queue (two wake-ups in series).
//!
//! The pool's readiness set decides which parked requests do this (`ready::defer`): it registers
//! the request's held duplicate here ([`watch_stream`]), one shot, with a tag naming the engine
//! queue, the number and the set's registration of it; the harvest takes the tag
//! ([`Harvest::consume`](super::Harvest::consume)) and claims the request from the set under the
//! set's lock, which alone decides who transfers. Only queues harvested lately
//! ([`INTEREST`]) get such registrations: a queue nobody harvests would only delay its requests
//! until the poller takes them (`ready::defer::DEFER`).
//!
//! A registration outlives its request when the request ends another way (the poller after the
//! delay, a waiter's claim, a cancel) or the duplicate is closed: it is one shot, so it fires at
//! most once more (an empty harvest: its tag names no deferred request), and the kernel drops it
//! with the file. The next park of the same file at the same number re-arms it (`EPOLL_CTL_MOD`).

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;
use core::time::Duration;

use super::entry::Node;
use super::{Cq, TAG_EFD};
use crate::errno::Errno;
use crate::sys;

/// Bit 63 marks a stream source's tag (the kernel sources' tags are small; the eventfd's is
/// `TAG_EFD`, which no stream tag equals: its number would be -1).
const TAG_STREAM: u64 = 1 << 63;
/// Bits of the set's registration sequence number kept in a tag.
pub(crate) const SEQ_MASK: u32 = (1 << 25) - 1;

/// How recently a queue must have been harvested for its stream requests to wait in it.
pub(crate) const INTEREST: Duration = Duration::from_secs(1);

/// A stream source's tag: engine queue `queue`, held number `fd`, registration `seq`.
pub(crate) fn stream_tag(queue: usize, fd: c_int, seq: u32) -> u64 {
    TAG_STREAM | ((queue as u64 & 0x3f) << 57) | (((seq & SEQ_MASK) as u64) << 32) | fd as u32 as u64
}

/// The (engine queue, number, registration) a tag taken from a queue names, if it is a stream's.
pub(crate) fn stream_of(tag: u64) -> Option<(usize, c_int, u32)> {
    (tag != TAG_EFD && tag & TAG_STREAM != 0).then_some((
        ((tag >> 57) & 0x3f) as usize,
        tag as u32 as c_int,
        (tag >> 32) as u32 & SEQ_MASK,
    ))
}

impl Cq {
    /// Notes a harvest now (see [`INTEREST`]).
    pub(super) fn note_harvest(&self) {
        self.last_harvest.store(sys::now().as_millis() as u64 + 1, Relaxed);
    }
}

/// Registers held number `fd` (a duplicate the caller holds for a parked request) in the epoll
/// set of the queue entry `node` was reserved in, one shot, for reading or writing, tagged `tag`
/// ([`stream_tag`]), if that queue is open, harvested within [`INTEREST`], and its set is the
/// library's. True if registered: the queue's descriptor turns readable when `fd` is ready.
///
/// # Safety
/// `node` was made by `QueueRef::reserve` and not handed back yet.
pub(crate) unsafe fn watch_stream(node: *const Node, fd: c_int, write: bool, tag: u64) -> bool {
    // SAFETY: a reserved entry is live and its queue fields fixed until it is handed back.
    let (cq, gen) = unsafe { (&*(*node).cq, (*node).gen) };
    let last = cq.last_harvest.load(Relaxed);
    if last == 0 || (sys::now().as_millis() as u64 + 1).saturating_sub(last) > INTEREST.as_millis() as u64 {
        return false;
    }
    if !cq.enter(gen) {
        return false;
    }
    let ep = cq.ep.load(Relaxed);
    let events = if write { libc::EPOLLOUT } else { libc::EPOLLIN } as u32 | libc::EPOLLONESHOT as u32;
    // Checked ours: a number the program took would put our file in its own epoll set.
    let ok = cq.ours(ep)
        && match sys::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, events, tag) {
            Err(Errno(libc::ENOENT)) => sys::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, events, tag).is_ok(),
            r => r.is_ok(),
        };
    if ok {
        cq.streams.store(1, Release);
    }
    cq.exit();
    ok
}
