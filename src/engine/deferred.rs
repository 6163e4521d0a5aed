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
//! **Deferral** ([`defer`]). The request is bound to the file its number names inside its
//! `aio_read` and holds it from then on (a duplicate, shared: a parked request holds its file,
//! not a number). The first read of a batch on a number takes the number's duplicate and checks
//! what it is ([`hold_checked`]: one `F_DUPFD_QUERY` while the number's last duplicate is kept);
//! the later reads of that batch on that number share that hold unchecked (`FdEntry::burst`
//! records which batch checked it). The request is accepted as any other (in flight,
//! EINPROGRESS, counted on its fd's generation, so an `aio_fsync` covers it), bound for the
//! queue's kernel AIO context with `Meta::nowait`, and put into its home queue's pending batch
//! (`queue::pending`). `aio_read` returns without a system call, except the first of a batch on
//! a number (that `F_DUPFD_QUERY`). A read for which no descriptor can be had is not deferred.
//!
//! **Flush** ([`flush`], [`issue`]). One `io_submit` of the batch, each read through the
//! duplicate it holds, never by number: a pipe or socket that takes the number at any moment is
//! never read. Before it, per number, one check that the number still names the held file (see
//! [`issue`]: the later reads of the batch were not checked one by one). Each entry carries
//! `RWF_NOWAIT`, so the kernel completes a page-cache hit inside `io_submit` and answers a miss
//! with EAGAIN, which sends the request to the workers with its hold, once
//! (`complete::after_miss`). The flusher then reaps the completions itself (no hand-off), with the
//! context's reap lock if it is free; if not, its holder reaps them, and the helper is asked to
//! make sure ([`Pending::reap_wanted`](super::queue::pending::Pending::reap_wanted)). The holds of
//! the hits are given up once per run (`FdTable::release_holds`), the last kept for the next batch
//! on the number until the helper lets go of it ([`tick`]).
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
use core::sync::atomic::{fence, Ordering::*};
use core::time::Duration;

use super::complete::{after_miss, finish, reap_deferred, reap_source};
use super::core::Engine;
use super::fd::table::FdEntry;
use super::inline;
use super::queue::pending::{Entry, Push, Taken, BATCH, SEQ_MASK};
use super::queue::Queue;
use super::request::{Backend, Meta, Op, ReqPtr};
use crate::errno::Errno;
use crate::sys::{self, Held};

/// The helper's tick while batches are being deferred: a pending batch waits at most two ticks.
pub(crate) const TICK: Duration = Duration::from_micros(500);

/// Ticks without a deferral after which the helper stops ticking (100 ms).
pub(crate) const IDLE_TICKS: u32 = 200;

const _: () = assert!(BATCH <= super::backend::kaio::DEFERRED_MAX);

/// Ticks without a deferral after which the duplicates kept for the next batch are let go (2 ms,
/// a worker's `KEEP`).
const LET_GO_TICKS: u32 = 4;

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

/// The key of batch `seq` of queue `qi` (below 64) in `FdEntry::burst`: never 0, so a record of
/// 0 (none) matches no batch.
#[inline(always)]
fn burst_key(qi: usize, seq: u32) -> u32 {
    1 << 31 | (qi as u32) << 25 | (seq & SEQ_MASK)
}

/// The calling thread's home queue, known without looking it up (`Engine::home`, a thread-local
/// variable: a `__tls_get_addr` call in a shared library, and the helper and descriptor checks
/// around it, about 35 instructions), for a later read of the batch pending on number `fe`: the
/// queue whose batch checked the number (the `burst` record, if there is one), if the calling
/// thread is the last one that deferred into it from its home queue (`Pending::home_of`, set by
/// [`defer`]). None otherwise: the caller looks its home queue up. Whether the record's batch is
/// still the pending one is not asked here: [`defer_later`] pushes only into that batch.
///
/// That queue's helper runs and its descriptors were made: the thread recorded there found it as
/// its home queue (`engine::home`) in this engine. The match is a hint, never a condition of
/// correctness: any thread's read may be deferred into any started queue (a thread that ended
/// may have left its thread pointer to a new one, whose home queue is another).
/// Also returns the record's batch and hold (what [`later`] would say on that queue if that
/// batch is pending), for [`defer_later`].
#[inline(always)]
pub(crate) fn burst_queue<'e>(eng: &'e Engine, fe: &FdEntry) -> Option<(&'e Queue, Later)> {
    let rec = fe.burst.load(Acquire);
    if rec as u32 & 1 << 31 == 0 {
        return None;
    }
    // The record's queue is `q`, so it names `q`'s batch with the sequence number it carries:
    // whether that batch is still the pending one is left to the push, which looks under the
    // batch's lock anyway (`Pending::push`, `expect`, compared on the record's bits).
    let q = eng.queue_if_started((rec as u32 >> 25 & 63) as usize)?;
    q.pending
        .home_of(sys::thread_pointer())
        .then_some((q, Later { seq: rec as u32 & SEQ_MASK, held: (rec >> 32) as u32 }))
}

/// A later read of a batch on its number: the batch's sequence number (its [`SEQ_MASK`] bits, as
/// the record carries them) and the hold its first read on the number took (the number's `burst`
/// record, see [`defer`]).
#[derive(Clone, Copy)]
pub(crate) struct Later {
    seq: u32,
    held: u32,
}

/// Whether a read on number `fe` is a later read of the batch `q` has pending (see [`Later`]).
#[inline(always)]
fn later(q: &Queue, fe: &FdEntry) -> Option<Later> {
    let seq = q.pending.seq();
    let rec = fe.burst.load(Acquire);
    (rec as u32 == burst_key(q.idx, seq)).then_some(Later { seq: seq & SEQ_MASK, held: (rec >> 32) as u32 })
}

/// Defers read `r` (operation `op`, not in flight, eligible by [`wants`], on number entry `fe`)
/// into `q`'s pending batch; false if it cannot be (no kernel AIO context, an fd that needs
/// ordering or draining, a number that is not open or names what cannot be read so, no
/// descriptor to hold its file with): the caller accepts it the usual way. Stats are never on
/// here (the caller, `submit::serve_here`, runs only without them).
///
/// The request is bound to the file its number names *now*, inside its `aio_read`: the first
/// read of a batch on a number takes the number's shared duplicate ([`hold_checked`]: one
/// `F_DUPFD_QUERY` when the number's last duplicate is still there) and holds it; the later reads
/// of that batch on that number share it, unchecked (a check each would cost a system call per
/// read), and the flush checks once that the number still names that file before they take
/// their part of the hold (see [`issue`]).
///
/// # Safety
/// `r` points to a live aiocb that the caller will not modify or free until it completes.
pub(crate) unsafe fn defer(eng: &Engine, q: &Queue, r: ReqPtr, op: Op, fe: &FdEntry) -> bool {
    if let Some(l) = later(q, fe) {
        // SAFETY: as this function (the caller's contract).
        if let Some(pushed) = unsafe { defer_later(eng, q, r, op, fe, l) } {
            return pushed;
        }
    }
    // SAFETY: live (caller); not in flight, only ours until accepted.
    let fdn = unsafe { r.get() }.fd();
    // Here only from the caller's home queue: record who has it (see `burst_queue`).
    q.pending.set_home_of(sys::thread_pointer());
    let Some(h) = hold_checked(eng, q, fe, fdn, op) else { return false };
    let shared = fe.is_shared(h);
    let make = |s: u32| {
        // SAFETY: as this function (the caller's contract).
        if !unsafe { start(eng, q, r, op, fe, h.to_word()) } {
            return None;
        }
        if shared {
            // Under the batch's lock, with the entry: a later read that finds this record and
            // then this batch still pending (`expect`) shares a hold that is in the batch.
            fe.burst.store((h.to_word() as u64) << 32 | burst_key(q.idx, s) as u64, Release);
        }
        Some(Entry { r, held: h.to_word(), checked: true })
    };
    let mut full = Taken::new();
    let pushed = q.pending.push(None, make, &mut full);
    if let Push::Declined = pushed {
        eng.fds.release_hold(fdn, h, false);
    }
    pushed_in(eng, q, pushed, &full)
}

/// [`defer`] of a later read of the batch `q` has pending on its number (`l`, from [`later`] or
/// [`burst_queue`]): it names that batch's hold now, and takes its part at the flush (see
/// [`issue`]). Some(true) if it is in the batch, Some(false) if it cannot be deferred (the
/// caller accepts it the usual way), None if that batch was taken meanwhile (the caller defers it
/// as the first read of a batch, [`defer`]). Inline: the later reads of a burst are the common
/// case, and their whole path stays in `aio_read`'s frame.
///
/// # Safety
/// As [`defer`].
#[inline(always)]
pub(crate) unsafe fn defer_later(eng: &Engine, q: &Queue, r: ReqPtr, op: Op, fe: &FdEntry, l: Later) -> Option<bool> {
    let Later { seq, held } = l;
    // SAFETY: as this function (the caller's contract).
    let make = |_| unsafe { start(eng, q, r, op, fe, held) }.then_some(Entry { r, held, checked: false });
    let mut full = Taken::new();
    match q.pending.push(Some(seq), make, &mut full) {
        Push::Moved => None,
        pushed => Some(pushed_in(eng, q, pushed, &full)),
    }
}

/// Counts read `r` on its fd's generation and starts it, issued, holding `held` (a `Held` word),
/// under the batch's lock right before it goes in (so a flusher never finds a request that is
/// not started). False if the fd's fast path is closed (a drain holds new requests).
///
/// # Safety
/// As [`defer`].
#[inline(always)]
unsafe fn start(eng: &Engine, q: &Queue, r: ReqPtr, op: Op, fe: &FdEntry, held: u32) -> bool {
    let Some(g) = fe.order.try_fast() else { return false };
    let m = Meta::new(q.idx, Backend::Kaio, op).with_nowait(true).with_counted(g);
    // SAFETY: live (caller); not in flight, only ours until accepted.
    unsafe { r.get() }.start_issued(eng.epoch, m, held);
    true
}

/// What follows a push into `q`'s batch: the flush of a full batch (`full`), the helper told of
/// a new one. False if the read is not in the batch.
#[inline(always)]
fn pushed_in(eng: &Engine, q: &Queue, pushed: Push, full: &Taken) -> bool {
    match pushed {
        Push::In { full: true, .. } => issue(eng, q, full, true),
        Push::In { was_empty: true, .. } => arm(q),
        Push::In { .. } => {}
        Push::Moved | Push::Declined => return false,
    }
    true
}

/// Makes a read on number `fdn` (entry `fe`, operation `op`) hold the file the number names now,
/// if that is a file a deferred read may be made of (a regular file or block device, not
/// O_DIRECT, whose class needs no drain), and records its class; None otherwise, or if the
/// number is not open or no descriptor can be had to hold the file (the read then takes the
/// usual path, which reports either).
fn hold_checked(eng: &Engine, q: &Queue, fe: &FdEntry, fdn: i32, op: Op) -> Option<Held> {
    let h = fe.hold(fdn).ok()?;
    // What the duplicate is, known for certain (not as the number was read before a new one was
    // made: `sys::held_file`).
    let ok = match sys::held_file(h) {
        Some((id, flags)) if matches!(id.format, libc::S_IFREG | libc::S_IFBLK) => {
            let (k, changed) = fe.see_held(id, flags);
            !changed && inline::eligible(op, k, None) && q.kaio_start(&eng.config.queue).is_some()
        }
        _ => false,
    };
    if ok {
        return Some(h);
    }
    eng.fds.release_hold(fdn, h, false);
    None
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
        issue(eng, q, &t, blocking);
    }
}

/// Flushes every started queue's batch (`aio_cancel`).
pub(crate) fn flush_all(eng: &Engine) {
    for q in eng.started_queues() {
        flush(eng, q, true);
    }
}

/// The later reads of a batch on one number sharing one hold (see [`defer`]).
#[derive(Clone, Copy)]
struct Sharing {
    fd: i32,
    held: u32,
    n: u32,
    /// 0 if they share the hold, else the error they end with (see [`shares`]).
    end: i32,
}

/// Whether the number `fd` still names the file of hold `held` (the duplicate a read of the batch
/// holds: ours, its file fixed): one `F_DUPFD_QUERY` (or `kcmp`) says whether it names that open
/// file; if not (or where neither can be used), one `fstat` of the number says whether it names
/// that inode (the identity `sys::held_file` confirmed), which reads the same bytes (the same
/// file opened again, maybe with O_DIRECT). If so, `n` reads take their part of the hold: 0.
/// Else the error they end with, untouched: ECANCELED if the duplicate itself was taken from us
/// (`closefrom` over our numbers: `sys::held_ok` says no, and the number may well still name the
/// file; the reads never touched it, as any request whose duplicate was taken), EBADF if the
/// number no longer names the held file. Async-signal-safe.
fn shares(eng: &Engine, fd: i32, held: u32, n: u32) -> i32 {
    let (Some(fe), Some(h)) = (eng.fds.get(fd), Held::from_word(held)) else { return libc::EBADF };
    if sys::held_same(h, fd) != Some(true) {
        if !sys::held_ok(h) {
            return libc::ECANCELED;
        }
        if !sys::file_id(fd).is_ok_and(|id| id.ident == sys::held_ident(h)) {
            return libc::EBADF;
        }
    }
    if fe.add_users(h, n) {
        0
    } else {
        libc::EBADF
    }
}

/// Issues batch `t` (taken from `q`, owned by the caller): see the module documentation.
///
/// Every read is issued through the duplicate it holds (`Req::target_fd`), never by its number:
/// what the number names at the `io_submit` does not matter, so a pipe or socket that takes the
/// number at any time is never read. A read that held its file since its `aio_read` (the first
/// of the batch on its number) goes as it is. The later ones of the batch on that number shared
/// that hold unchecked: per number, one check that it still names that file; if it does, it did
/// all along unless the program closed it and opened that same open file there again (a `dup`
/// of it), and each of them takes its part of the hold; if it does not, the program closed the
/// number after the first read, and each of the later ones may have been made before that (of
/// the held file) or after (of another file): they end with EBADF, untouched, as a read whose
/// number was closed before it was issued (with ECANCELED if it was our duplicate that the
/// program closed, `shares`).
#[inline(never)]
fn issue(eng: &Engine, q: &Queue, t: &Taken, blocking: bool) {
    let entries = t.entries();
    if let [one] = entries {
        // SAFETY: a deferred request is live until it completes, and the flusher owns it.
        if let Some(fe) = eng.fds.get(unsafe { one.r.get() }.fd()) {
            fe.defer_skip.store(SKIP_AFTER_SINGLE, Relaxed);
        }
    }
    // The later reads of the batch, by the hold they share (its number's: see `defer`), counted.
    const SHARINGS: usize = 4;
    let mut sharing = [Sharing { fd: -1, held: 0, n: 0, end: 0 }; SHARINGS];
    let (mut ns, mut last, mut alone) = (0, 0, false);
    for e in entries {
        if e.checked {
            // Its batch is issued: later reads no longer share its hold unchecked.
            // SAFETY: a deferred request is live until it completes, and the flusher owns it.
            if let Some(fe) = eng.fds.get(unsafe { e.r.get() }.fd()) {
                let rec = (e.held as u64) << 32 | burst_key(q.idx, t.seq()) as u64;
                let _ = fe.burst.compare_exchange(rec, 0, AcqRel, Relaxed);
            }
            continue;
        }
        if last < ns && sharing[last].held == e.held {
            sharing[last].n += 1;
            continue;
        }
        match sharing[..ns].iter().position(|s| s.held == e.held) {
            Some(i) => {
                sharing[i].n += 1;
                last = i;
            }
            None if ns < SHARINGS => {
                // SAFETY: as above.
                let fd = unsafe { e.r.get() }.fd();
                sharing[ns] = Sharing { fd, held: e.held, n: 1, end: 0 };
                (last, ns) = (ns, ns + 1);
            }
            // Checked on its own below.
            None => alone = true,
        }
    }
    let mut all_ok = !alone;
    for s in &mut sharing[..ns] {
        s.end = shares(eng, s.fd, s.held, s.n);
        all_ok &= s.end == 0;
    }
    if all_ok {
        // The common case: every read goes, as the batch has them (no copy).
        return send(eng, q, entries.len(), |i| entries[i].r, blocking);
    }
    let mut go = [MaybeUninit::<ReqPtr>::uninit(); BATCH];
    let mut n = 0;
    for e in entries {
        if !e.checked {
            // SAFETY: a deferred request is live until it completes, and the flusher owns it.
            let req = unsafe { e.r.get() };
            let end = match sharing[..ns].iter().find(|s| s.held == e.held) {
                Some(s) => s.end,
                None => shares(eng, req.fd(), e.held, 1),
            };
            if end != 0 {
                // The number was closed after the batch's first read on it, or our duplicate
                // was (see `shares`): the request has no part of the hold it names.
                req.take_held();
                // SAFETY: the flusher owns the request, which holds nothing now; reported once.
                unsafe { finish(eng, e.r, -(end as isize), blocking) };
                continue;
            }
        }
        go[n].write(e.r);
        n += 1;
    }
    // SAFETY: the first n slots were written above.
    send(eng, q, n, |i| unsafe { go[i].assume_init() }, blocking);
}

/// The `io_submit` of a batch's `n` reads that go (the i-th is `at(i)`, each live, accepted and
/// owned by the flusher), what the kernel did not take to the workers, and the reap.
#[inline(always)]
fn send(eng: &Engine, q: &Queue, n: usize, at: impl Fn(usize) -> ReqPtr + Copy, blocking: bool) {
    if n == 0 {
        return;
    }
    let (taken, why) = match q.kaio() {
        Some(k) => {
            // SAFETY: the requests are live and accepted, their buffers valid while in flight
            // (POSIX); all are deferred reads (at most `BATCH`, which `submit_deferred` takes).
            let (taken, why) = unsafe { k.submit_deferred(n, at) };
            // Counted after the call, not before: counted before, the helper's tick saw them
            // outstanding while the kernel completed them inside `io_submit` and reaped them
            // (`io_getevents`) against the flusher, which then found the reap lock busy and
            // signalled the eventfd (strace of a depth-32 loop of 64000 reads: 246
            // `io_getevents` and 99 eventfd writes, none counted after). Counted after, another
            // reaper that takes a completion before this line runs the count below zero (it
            // wraps) for that moment, which costs at most one helper tick more.
            q.pending.sent(taken);
            (taken, why)
        }
        None => (0, None),
    };
    // What the kernel did not take goes to the workers: for want of a slot (the context is full
    // of other requests), as it is; otherwise (EOPNOTSUPP: the file cannot read without waiting)
    // as a miss, after which the next reads on the number are not tried on the caller's thread.
    let no_slot = why == Some(Errno::EAGAIN);
    for i in taken..n {
        after_miss(eng, q, at(i), blocking, !no_slot);
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
    // The pusher's side of the hand-shake: its count (stored Relaxed, `Pending::push`) is seen by
    // the helper's SeqCst load of it that comes after this fence, or else this load sees the
    // helper's 0 (see `Pending::ticking`). After a flush (`reap_own`), `out` was added to SeqCst.
    fence(SeqCst);
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
        if *idle == LET_GO_TICKS {
            // The duplicates the batches' reads kept for the next batch on their number
            // (`FdTable::release_holds`), as a worker lets go of its own when it goes idle.
            eng.fds.let_go_kept();
        }
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
