//! Reads deferred into a batch: `aio_read`s (`aio_readv`, `aio_read2`) that share one
//! `io_submit` instead of costing the caller two system calls each (`engine::inline`).
//!
//! **Which.** A read with nothing to notify (`SIGEV_NONE`), no lio group, the default routing, at
//! its offset, on a number whose class says a seekable file that is not O_DIRECT (what
//! `inline::eligible` takes), whose page-cache attempts are not being skipped after a miss, and
//! that follows a read on *another* aiocb on the same number ([`wants`]): the first read of a burst
//! is still tried at once on the caller's thread, and so is every read of a loop that reuses one
//! aiocb (a depth-1 program, which a batch would only delay). Everything else keeps its path.
//!
//! **Deferral** ([`defer`]). The number's class is checked (`FdEntry::classify`: as cached while
//! requests are in flight on it, else one `statx`); the request is accepted as any other (in
//! flight, EINPROGRESS, counted on its fd's generation, so an `aio_fsync` covers it), bound for
//! the queue's kernel AIO context with `Meta::nowait`, and put with the identity of its file
//! (`FdEntry::ident`) into its home queue's pending batch (`queue::pending`). `aio_read` returns
//! without a system call, except the first of a burst (that `statx`).
//!
//! **Flush** ([`flush`], [`issue`]). One `io_submit` of the batch. Each entry carries `RWF_NOWAIT`,
//! so the kernel completes a page-cache hit inside `io_submit` and answers a miss with EAGAIN,
//! which sends the request to the workers, once (`complete::after_miss`). Before that, per
//! distinct number in the batch, one `statx` checks that the number still names the file the
//! class was made for (device, inode, type; a regular file or block device): an entry whose
//! number no longer does ends with EBADF without touching anything, so a pipe or socket that took
//! the number before that check is not read. Not seen: one that takes it between the check and
//! the `io_submit` (the flush may run on another thread than the program's, the helper's or one
//! in `aio_error`), which is then read; a miss's hold (`complete::after_miss`) has the same window. The flusher then reaps the completions itself (no hand-off), with the
//! context's reap lock if it is free; if not, its holder reaps them, and the helper is asked to
//! make sure ([`Pending::reap_wanted`](super::queue::pending::Pending::reap_wanted)).
//!
//! **Triggers.** (a) the batch is full (`pending::BATCH`); (b) the thread's next submission that is
//! not deferred, `lio_listio`, `aio_fsync` (through its submission) and `aio_cancel` (every queue)
//! flush first; (c) `aio_error` and `aio_suspend` on a request that is still in progress flush
//! its queue (a try-lock: async-signal-safe); (d) the queue's helper flushes a
//! batch that was already pending at its previous tick ([`tick`], every [`TICK`]), so a read the
//! program never asks about is issued within two ticks. The helper ticks while deferrals happen
//! and for [`IDLE_TICKS`] ticks after the last one; a deferral into an empty batch wakes it only
//! if it stopped ticking, so a steady stream of batches costs no wake-up per batch.
//!
//! **Fork.** Nothing to do: a child forgets the parent's engine, its pending batches with it
//! (its copies of those aiocbs no longer look in flight); the parent's helper flushes them there.

use core::mem::MaybeUninit;
use core::sync::atomic::Ordering::*;
use core::time::Duration;

use super::complete::{after_miss, finish, reap_deferred, reap_source};
use super::core::Engine;
use super::fd::table::FdEntry;
use super::inline;
use super::queue::pending::{Entry, Taken, BATCH};
use super::queue::Queue;
use super::request::{Backend, Meta, Op, ReqPtr};
use crate::sys;

/// The helper's tick while batches are being deferred: a pending batch waits at most two ticks.
pub(crate) const TICK: Duration = Duration::from_micros(500);

/// Ticks without a deferral after which the helper stops ticking (100 ms).
pub(crate) const IDLE_TICKS: u32 = 200;

/// Reads on a number tried at once after a flush found only one of its reads in its batch.
pub(crate) const SKIP_AFTER_SINGLE: u32 = 16;

/// Whether read `r` on number entry `fe` should be deferred rather than tried at once (see the
/// module documentation): it follows a read on another aiocb. Records `r` as the last read.
///
/// Not while the number's reads are tried at once after a flush that found only one of them in
/// its batch ([`SKIP_AFTER_SINGLE`] reads): a program that alternates between two aiocbs at
/// depth 1 (double buffering, as fio does) would otherwise pay a batch of one per read (`statx`
/// and `io_submit`, more than the attempt at once), and a program that submits in bursts
/// defers again after those reads.
#[inline(always)]
pub(crate) fn wants(fe: &FdEntry, r: ReqPtr) -> bool {
    let me = r.as_ptr() as usize;
    let last = fe.last_read.load(Relaxed);
    if last == me {
        return false;
    }
    fe.last_read.store(me, Relaxed);
    if last == 0 || fe.inline_skip.load(Relaxed) != 0 {
        return false;
    }
    let skip = fe.defer_skip.load(Relaxed);
    if skip != 0 {
        // Racy on purpose, as `inline_skip`: concurrent readers may skip one more or fewer.
        fe.defer_skip.store(skip - 1, Relaxed);
        return false;
    }
    true
}

/// Defers read `r` (operation `op`, not in flight, eligible by [`wants`], on number entry `fe`)
/// into `q`'s pending
/// batch; false if it cannot be (no kernel AIO context, an fd that needs ordering or draining, a
/// class never checked): the caller accepts it the usual way. Stats are never on here (the
/// caller, `submit::serve_here`, runs only without them).
///
/// # Safety
/// `r` points to a live aiocb that the caller will not modify or free until it completes.
pub(crate) unsafe fn defer(eng: &Engine, q: &Queue, r: ReqPtr, op: Op, fe: &FdEntry) -> bool {
    // SAFETY: live (caller); not in flight, only ours until accepted.
    let req = unsafe { r.get() };
    // The identity the flush checks must be that of the file the number names now, not of one
    // it named when it was last classified: the program may have closed it and opened another
    // file there since, legitimately, before this call. So the class is checked as the engine
    // checks it (`FdEntry::classify`): used as cached while requests are in flight on the
    // number (the first deferred read of a burst keeps it so until the flush), else one `statx`.
    let (k, changed) = match fe.classify_busy() {
        Some(k) => (k, false),
        None => match fe.classify(req.fd(), false, false) {
            Ok((k, changed, _)) => (k, changed),
            Err(_) => return false,
        },
    };
    if changed || !inline::eligible(op, k, None) || q.kaio_start(&eng.config.queue).is_none() {
        return false;
    }
    let ident = fe.ident();
    let Some(g) = fe.order.try_fast() else { return false };
    let m = Meta::new(q.idx, Backend::Kaio, op).with_nowait(true).with_counted(g);
    req.start(eng.epoch, m, core::ptr::null_mut(), core::ptr::null());
    req.issue();
    let mut full = Taken::new();
    let (is_full, was_empty) = q.pending.push(Entry { r, ident }, &mut full);
    if is_full {
        issue(eng, q, full.entries(), true);
    } else if was_empty {
        arm(q);
    }
    true
}

/// Flushes `q`'s pending batch, if any (trigger (b), (c)). Without `blocking`, only if its lock
/// is free, and async-signal-safe.
#[inline(always)]
pub(crate) fn flush(eng: &Engine, q: &Queue, blocking: bool) {
    if !q.pending.is_empty() {
        flush_now(eng, q, blocking);
    }
}

#[inline(never)]
fn flush_now(eng: &Engine, q: &Queue, blocking: bool) {
    let mut t = Taken::new();
    if q.pending.take(blocking, &mut t) {
        issue(eng, q, t.entries(), blocking);
    }
}

/// Flushes every started queue's batch (`aio_cancel`).
pub(crate) fn flush_all(eng: &Engine) {
    for q in eng.started_queues() {
        flush(eng, q, true);
    }
}

/// What a number was found to name at a flush.
#[derive(Clone, Copy)]
struct Seen {
    fd: i32,
    ident: u64,
    ok: bool,
}

/// Issues `entries` (taken from `q`'s batch, owned by the caller): see the module documentation.
fn issue(eng: &Engine, q: &Queue, entries: &[Entry], blocking: bool) {
    if let [one] = entries {
        // SAFETY: a deferred request is live until it completes, and the flusher owns it.
        if let Some(fe) = eng.fds.get(unsafe { one.r.get() }.fd()) {
            fe.defer_skip.store(SKIP_AFTER_SINGLE, Relaxed);
        }
    }
    let mut seen = [Seen { fd: -1, ident: 0, ok: false }; 4];
    let mut nseen = 0;
    let mut go = [MaybeUninit::<ReqPtr>::uninit(); BATCH];
    let mut n = 0;
    for e in entries {
        // SAFETY: a deferred request is live until it completes, and the flusher owns it.
        let fd = unsafe { e.r.get() }.fd();
        let ok = match seen[..nseen].iter().find(|s| s.fd == fd && s.ident == e.ident) {
            Some(s) => s.ok,
            None => {
                let ok = sys::file_id(fd)
                    .is_ok_and(|id| id.ident == e.ident && matches!(id.format, libc::S_IFREG | libc::S_IFBLK));
                if nseen < seen.len() {
                    seen[nseen] = Seen { fd, ident: e.ident, ok };
                    nseen += 1;
                }
                ok
            }
        };
        if ok {
            go[n].write(e.r);
            n += 1;
        } else {
            // The number was closed, or names another file now: the request's file is gone
            // before it was issued (as at submission: EBADF). Nothing was touched.
            // SAFETY: the flusher owns the request, reported once.
            unsafe { finish(eng, e.r, -(libc::EBADF as isize), blocking) };
        }
    }
    if n == 0 {
        return;
    }
    // SAFETY: the first n slots were written above; MaybeUninit<ReqPtr> has ReqPtr's layout.
    let reqs = unsafe { core::slice::from_raw_parts(go.as_ptr() as *const ReqPtr, n) };
    let taken = match q.kaio() {
        Some(k) => {
            // SAFETY: the requests are live and accepted, their buffers valid while in flight
            // (POSIX); all are deferred reads, which signal no eventfd.
            let taken = unsafe { k.submit(reqs, -1) };
            q.pending.sent(taken);
            taken
        }
        None => 0,
    };
    // What the kernel did not take (no slot, or EOPNOTSUPP for RWF_NOWAIT) goes to the workers.
    for &r in &reqs[taken..] {
        after_miss(eng, q, r, blocking);
    }
    if taken > 0 {
        reap_own(eng, q, blocking);
    }
}

/// Reaps the completions `io_submit` just made (page-cache hits complete inside it) on the
/// flusher's thread. Deferred reads signal no eventfd, so if the reap lock is busy its holder,
/// which may be asleep on the eventfd (a waiter), is woken through it, and the helper is asked to
/// look too, in case the holder had already looked. A read that did not complete inside
/// `io_submit` (an O_DIRECT file at a number whose class said buffered) is found by the helper's
/// tick, which runs while any is outstanding.
fn reap_own(eng: &Engine, q: &Queue, blocking: bool) {
    let Some(l) = q.reap_lock(Backend::Kaio) else { return };
    match l.try_lock() {
        Some(g) => {
            // SAFETY: the context's reap lock is held (g).
            unsafe { reap_deferred(eng, q, blocking) };
            q.release_reap(g);
        }
        None => {
            q.kaio_fd.signal();
            q.pending.reap_wanted().store(1, SeqCst);
            q.wake();
        }
    }
    if q.pending.outstanding() != 0 {
        arm(q);
    }
}

/// Makes the helper tick (see `Pending::ticking` for the hand-shake).
fn arm(q: &Queue) {
    if q.pending.ticking().load(SeqCst) == 0 {
        q.pending.ticking().store(1, SeqCst);
        q.wake();
    }
}

/// The helper's part (trigger (d)): flushes a batch that was pending at the previous tick too,
/// reaps what a flusher could not, and says how long the helper may sleep (None: until woken).
/// `last`: the batch sequence number and whether a batch was pending at the previous tick;
/// `idle`: ticks since the last sign of deferral.
pub(crate) fn tick(eng: &Engine, q: &Queue, last: &mut (u32, bool), idle: &mut u32) -> Option<Duration> {
    let out = q.pending.outstanding() != 0;
    let ready = out && q.kaio().is_some_and(|k| k.has_pending());
    if ready || q.pending.reap_wanted().load(SeqCst) != 0 {
        match q.helper_try_reap(Backend::Kaio) {
            Some(g) => {
                q.pending.reap_wanted().store(0, SeqCst);
                // SAFETY: the context's reap lock is held (g).
                unsafe { reap_source(eng, q, Backend::Kaio, true) };
                q.release_reap(g);
            }
            // Its holder may sleep on the eventfd, which deferred reads do not signal.
            None if ready => q.kaio_fd.signal(),
            None => {}
        }
    }
    if q.pending.ticking().load(SeqCst) == 0 {
        return None;
    }
    let seq = q.pending.seq();
    let pending = !q.pending.is_empty();
    if pending && last.1 && last.0 == seq {
        flush(eng, q, true);
    }
    if pending || out || seq != last.0 {
        *idle = 0;
    } else {
        *idle += 1;
    }
    *last = (q.pending.seq(), !q.pending.is_empty());
    if *idle >= IDLE_TICKS {
        q.pending.ticking().store(0, SeqCst);
        if q.pending.is_empty() && q.pending.outstanding() == 0 {
            *idle = 0;
            return None;
        }
        q.pending.ticking().store(1, SeqCst);
    }
    Some(TICK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Aiocb;
    use crate::engine::fd::table::FdTable;

    #[test]
    fn a_read_on_another_aiocb_is_deferred_one_on_the_same_aiocb_is_not() {
        let t = FdTable::new();
        let fe = t.entry(5).unwrap();
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        let (mut a, mut b): (Aiocb, Aiocb) = unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
        let (ra, rb) = (ReqPtr::new(&mut a).unwrap(), ReqPtr::new(&mut b).unwrap());
        assert!(!wants(fe, ra), "the first read seen on a number is tried at once");
        assert!(!wants(fe, ra), "a loop that reuses one aiocb (depth 1) is never deferred");
        assert!(wants(fe, rb), "a read on another aiocb right after it is");
        assert!(wants(fe, ra));
        fe.inline_skip.store(3, Relaxed);
        assert!(!wants(fe, rb), "not while the number's page-cache attempts are skipped after a miss");
        fe.inline_skip.store(0, Relaxed);
        assert!(wants(fe, ra));
        fe.defer_skip.store(2, Relaxed);
        assert!(!wants(fe, rb) && !wants(fe, ra), "tried at once after a batch of one");
        assert!(wants(fe, rb));
    }
}
