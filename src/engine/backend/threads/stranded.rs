//! Work that no worker will look at while no thread can be made (RLIMIT_NPROC reached, or the
//! process out of memory for a stack): the queue's helper runs the queued file requests itself.
//!
//! A worker whose thread cannot be created takes no slot (`Pool::start_one`); the failure marks
//! the pool *stranded* and rings the helper. The helper, at each of its rounds while the mark is
//! set ([`Pool::grow_or_serve`]), looks whether work is queued that no worker will look at (none
//! active, none asleep to be woken: the pool has no worker at all, as under
//! `AIO_RS_BACKEND=uring`, whose requests io_uring ended ECANCELED because its own io-wq could not
//! make a worker either; or its workers all wait on streams), tries once more to start a worker,
//! and if that fails too, runs up to `SERVE_MAX` of the queued file requests (reads, writes,
//! fsyncs of regular files and block devices: `Pool::run`, as a worker would, with the file the
//! request holds, checked first), for at most `SERVE_FOR` in one round, then goes on with its
//! other duties and comes back without sleeping while such requests remain. So every accepted
//! file request is run while the limit stands, with no thread of its own.
//!
//! What it costs the helper: a regular file's read or write can block for a while (a page not in
//! the cache, writeback throttling, an inode lock another thread holds, a slow or remote file
//! system), an fsync for as long as the device takes; meanwhile the helper's other duties wait:
//! signals and callbacks of completions nobody reaps, the deferred reads' flush, the status
//! fields' tick, requests handed to it. That delay is bounded by the requests it runs (one round:
//! `SERVE_MAX` requests, started within `SERVE_FOR`), and it happens only while no thread can be
//! made; a pool with a worker never gets here.
//!
//! Never a stream request (a pipe, socket, FIFO or tty that is not ready): it could block the
//! helper forever. Those wait in the readiness set (served by the pool's poller, whose start
//! fails the same way) or for a worker; a new one that has neither is refused at submission
//! with EAGAIN (`Pool::first_attempt`). Queued ones that have neither wait, with the helper
//! trying to start a worker every `POLL_MS` (helper.rs), until a thread can be made.

use core::sync::atomic::Ordering::*;
use core::time::Duration;

use super::{Host, Pool, Ran};
use crate::engine::request::{Completion, ReqPtr};
use crate::sys;

/// The most queued file requests the helper runs in one of its rounds ...
const SERVE_MAX: usize = 8;
/// ... and for how long it starts new ones in that round.
const SERVE_FOR: Duration = Duration::from_millis(2);

impl Pool {
    /// A worker's thread could not be created: the helper is asked to look (see the module
    /// documentation). Async-signal-safe.
    pub(super) fn stranded_now(&self, host: Host) {
        if self.stranded.swap(1, AcqRel) == 0 {
            host.helper.ring();
        }
    }

    /// Whether a worker's thread could not be created since the helper last looked (one load).
    pub(crate) fn stranded(&self) -> bool {
        self.stranded.load(Acquire) != 0
    }

    /// Whether work is queued that no worker will look at: none active, none asleep to be woken.
    fn unattended(&self) -> bool {
        let g = self.work.lock();
        g.active == 0 && g.asleep == 0 && !g.list.is_empty()
    }

    /// The helper's part (see the module documentation): if work is queued that no worker will
    /// look at, starts a worker, or, when its thread cannot be created, runs queued file requests
    /// itself. True if it ran some (the helper then comes back without sleeping); the pool stays
    /// marked stranded while a worker could not be started. Not async-signal-safe.
    pub(crate) fn grow_or_serve(&'static self, host: Host) -> bool {
        self.stranded.store(0, Release);
        if !self.unattended() || self.start_one(host, false) {
            return false;
        }
        let t0 = sys::now();
        let mut ran = false;
        for _ in 0..SERVE_MAX {
            let Some(r) = self.take_file() else { break };
            // A file's request: `run` never waits on readiness for it (`w` is only used for
            // streams), and checks the file it holds before the transfer. Never parked (only a
            // stream's is; the set would own it then).
            let Ran::Done(res) = self.run(host, 0, r, Duration::ZERO) else { continue };
            self.progress.fetch_add(1, Release);
            // Not `worker_done`: the helper keeps no files for later (it never goes idle as a
            // worker does to let go of them).
            host.sink.complete(Completion::Request(r, res));
            ran = true;
            if sys::now().saturating_sub(t0) >= SERVE_FOR {
                break;
            }
        }
        ran
    }

    /// Takes the first queued file request (not a stream's transfer) off the work list if still no
    /// worker will look at it, and issues it: the caller runs it.
    fn take_file(&self) -> Option<ReqPtr> {
        let mut g = self.work.lock();
        if g.active != 0 || g.asleep != 0 {
            return None;
        }
        let mut first = None;
        let mut taken = g.list.drain_filter(|r| {
            // SAFETY: members of the work list are live.
            let m = unsafe { r.get() }.meta();
            let file = !m.stream() || m.op().is_sync();
            let take = first.is_none() && file;
            if take {
                first = Some(r);
            }
            take
        });
        let r = taken.pop_front()?;
        // SAFETY: taken off the work list under its lock: live, and the caller's to run.
        unsafe { r.get() }.issue();
        Some(r)
    }
}
