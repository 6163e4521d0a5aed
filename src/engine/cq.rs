//! Harvesting a completion queue (`aio_rs_cq_harvest`, `aio_waitcomplete`; the queue itself is
//! `notify::cq`). A harvest takes the queue's readiness, reaps (without waiting for any lock) the
//! engine queues its requests are in flight on, so that completions the kernel holds are finished
//! now, by the harvester, then hands out what the queue holds. With nothing there it sleeps on the
//! queue's descriptor, which the kernel sources and the library's own eventfd make readable, and
//! tries again.
//!
//! If a reap lock is busy, its holder reaps or is about to reap what the harvest wanted (every
//! holder reaps everything available before letting go, and a completion the kernel announced is
//! already available): the harvest then makes the descriptor readable again before returning
//! empty-handed, so the program comes back, rather than leave a completion behind the lock unseen.
//!
//! Async-signal-safe with a zero timeout: try-locks, atomics and system calls only.

use core::time::Duration;

use super::complete::{finish_attempted, reap};
use super::core::{get, Engine};
use super::request::Backend;
use super::submit::attach;
use super::wait::bits;
use crate::errno::Errno;
use crate::notify::cq::{self, Completed, QueueRef};
use crate::sys;

/// Hands out up to `out.len()` (at least one) completions of queue `q`, waiting up to `timeout`
/// (None: until one comes). Returns how many; 0 when the timeout passed. `Err(EINTR)` if a signal
/// handler ran while it slept, `Err(EBADF)` if the queue is (or gets) closed. The caller found `q`
/// by its number within this call (`cq::lookup_open`).
pub(crate) fn harvest(q: QueueRef, out: &mut [Completed], timeout: Option<Duration>) -> Result<usize, Errno> {
    let h = q.harvest().ok_or(Errno::EBADF)?;
    let deadline = timeout.filter(|t| !t.is_zero()).map(|t| sys::now() + t);
    let zero = timeout.is_some_and(|t| t.is_zero());
    let mut first = true;
    loop {
        // Descriptors of the queue found lost (closefrom) are made again (one load otherwise).
        h.repair(false, !zero);
        let mut streams = [0u64; 16];
        let ns = h.consume(&mut streams);
        let mut busy = false;
        if let Some(eng) = get() {
            let queues = h.queues();
            h.reaping(|| {
                for &tag in &streams[..ns] {
                    busy |= !serve_stream(eng, tag);
                }
                for i in bits(queues) {
                    if let Some(eq) = eng.queue_if_started(i) {
                        busy |= !reap(eng, eq, false);
                    }
                }
            });
        }
        let n = h.take(out);
        if n > 0 {
            if busy || h.more() {
                h.signal();
            }
            return Ok(n);
        }
        // Nothing: is the queue still there to wait on? (Completions of a queue the program has
        // just closed may still be handed out above; after that, EBADF.)
        // The first round follows the lookup of the number by this call (`cq::lookup_open`).
        if !h.still_open(first) {
            return Err(Errno::EBADF);
        }
        first = false;
        let left = match deadline {
            _ if zero => Some(Duration::ZERO),
            None => None,
            Some(d) => Some(d.saturating_sub(sys::now())),
        };
        if left == Some(Duration::ZERO) {
            if busy {
                h.signal();
            }
            return Ok(0);
        }
        // Before sleeping on the queue: its descriptors are ours, and every kernel source its
        // requests are in flight on is in its epoll set (else a short nap instead).
        let whole = h.repair(true, true) & get().is_none_or(|eng| sources_in(eng, &q, h.queues()));
        // Behind a busy reap lock: look again shortly (its holder lets go within a reap).
        let cap = if busy {
            Some(BUSY_NAP)
        } else if !whole {
            Some(cq::LOST_NAP)
        } else {
            None
        };
        let nap = match (cap, left) {
            (Some(c), l) => Some(l.map_or(c, |l| l.min(c))),
            (None, l) => l,
        };
        h.sleep(nap)?;
    }
}

/// Serves a parked stream request whose held file woke the queue (`tag`, see
/// `backend::threads::ready::defer`): claims it from its pool's readiness set, makes the
/// non-blocking transfer here and finishes it, or gives it back if nothing moved. False if the
/// set's lock stayed busy (its poller then takes the request within its delay). Try-locks only.
fn serve_stream(eng: &'static Engine, tag: u64) -> bool {
    let Some((qi, fd, seq)) = cq::stream_of(tag) else { return true };
    let Some(q) = eng.queue_if_started(qi) else { return true };
    let r = match q.pool.claim_deferred(fd, seq) {
        Ok(Some(r)) => r,
        Ok(None) => return true,
        Err(()) => return false,
    };
    if let Ok(Some(n)) = q.pool.attempt_claimed(r) {
        q.pool.forget_claimed(r);
        // SAFETY: claimed by this harvest, which alone owns it (in no list, Issued); finished
        // here once, right after its attempt, and never touched again.
        unsafe { finish_attempted(eng, r, n, false) };
    } else {
        // Nothing moved (or no per-call non-blocking transfer on the file): back to the set, for
        // the poller.
        // SAFETY: claimed from q's pool by this harvest, which alone owns it.
        unsafe { q.give_back_claimed(r) };
    }
    true
}

/// Whether the kernel sources of the engine queues in `queues` (bit i: queue i) that queue `q`'s
/// requests went to are in its epoll set, for a harvest about to sleep there (a program thread
/// with a timeout: it may make descriptors). A kernel AIO eventfd the program closed is made
/// again here (as at the next submission, `Queue::refresh_fds`) and added in place of the old one
/// (`submit::attach`, by generation); sources that were in an epoll instance the library made
/// again are added back. False while one cannot be (a ring whose number was lost is never made
/// again: its requests are reaped by the harvest's rounds, which then nap rather than sleep).
fn sources_in(eng: &'static Engine, q: &QueueRef, queues: u64) -> bool {
    let mut all = true;
    for i in bits(queues) {
        let Some(eq) = eng.queue_if_started(i) else { continue };
        if q.has_source(i, 1) && eq.kaio().is_some() {
            // One fcntl: finds the eventfd lost (then `wanted`), and the refresh makes another.
            let _ = eq.kaio_fd.current();
            eq.refresh_fds();
            all &= attach(eq, q, Backend::Kaio);
        }
        if q.has_source(i, 0) {
            all &= attach(eq, q, Backend::Uring);
        }
    }
    all
}

/// How long a harvest naps before it looks again behind a busy reap lock.
const BUSY_NAP: Duration = Duration::from_micros(200);

/// `aio_waitcomplete`: the next completion of the aio_waitcomplete queue, waiting up to
/// `timeout`. `Err(EAGAIN)` when no request of that queue is outstanding (none was ever
/// submitted, or all were harvested), `Err(EINPROGRESS)` when the timeout passed, `Err(EINTR)`.
pub(crate) fn wait_complete(timeout: Option<Duration>) -> Result<Completed, Errno> {
    let q = cq::waitcomplete_queue(false)?;
    if q.outstanding() == 0 {
        return Err(Errno::EAGAIN);
    }
    let mut one = [Completed { aiocb: core::ptr::null_mut(), res: 0 }];
    match harvest(q, &mut one, timeout) {
        Ok(0) => Err(Errno(libc::EINPROGRESS)),
        Ok(_) => Ok(one[0]),
        Err(Errno::EBADF) => Err(Errno::EAGAIN),
        Err(e) => Err(e),
    }
}
