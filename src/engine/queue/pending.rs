//! A queue's pending batch: reads accepted by `aio_read` and not yet issued, waiting to share
//! one `io_submit` (the policy, the flush and its triggers are in `engine::deferred`). Each entry
//! is the request and the duplicate of its file it holds, or will share once the flush has
//! checked that its number still names that file (see `engine::deferred`).
//!
//! The entries are under a `sys::Lock`: `push` (on `aio_read`, which may wait for it) and
//! `take` (which only tries it where the caller may be in a signal handler) are the only users.
//! `count` mirrors the number of entries for readers without the lock: written under the lock,
//! it is only a hint for whether a flush is worth trying, except in the helper's
//! hand-shake described at [`Pending::ticking`].

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

use crate::engine::request::ReqPtr;
use crate::sys::Lock;

/// Entries in a batch: the batch is flushed when it has this many. 32: a depth-32 program's
/// reads share one `io_submit`; more gained nothing measurable and holds requests longer.
pub(crate) const BATCH: usize = 32;

/// The bits of a batch's sequence number that [`Pending::push`] compares with the one it is
/// asked to expect (the number a batch's record carries: `engine::deferred`).
pub(crate) const SEQ_MASK: u32 = (1 << 25) - 1;

/// One deferred request and the duplicate of its file (a `Held` word): held by the request
/// since its deferral (`checked`: its own hold, made inside its `aio_read`), or to be shared by
/// it once the flush has checked its number (see `engine::deferred`).
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) r: ReqPtr,
    pub(crate) held: u32,
    pub(crate) checked: bool,
}

/// What [`Pending::push`] did.
pub(crate) enum Push {
    /// In the batch. `full`: the batch is full with it and was moved into the caller's `Taken`
    /// (the caller flushes it); `was_empty`: it was the batch's first entry (the helper may have
    /// to be told).
    In { full: bool, was_empty: bool },
    /// Not in: the batch the caller expected was taken meanwhile.
    Moved,
    /// Not in: the caller's `make` declined.
    Declined,
}

/// A batch taken out of the queue (owned by the flusher).
pub(crate) struct Taken {
    n: usize,
    /// The batch's sequence number (see [`Pending::seq`]).
    seq: u32,
    e: [MaybeUninit<Entry>; BATCH],
}

impl Taken {
    pub(crate) fn new() -> Taken {
        Taken { n: 0, seq: 0, e: [MaybeUninit::uninit(); BATCH] }
    }

    /// The sequence number the batch had while it was pending.
    pub(crate) fn seq(&self) -> u32 {
        self.seq
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        // SAFETY: the first `n` slots were written (`Slots::push`, copied by `move_out`);
        // MaybeUninit<Entry> has Entry's layout.
        unsafe { core::slice::from_raw_parts(self.e.as_ptr() as *const Entry, self.n) }
    }
}

struct Slots {
    n: usize,
    e: [MaybeUninit<Entry>; BATCH],
}

impl Slots {
    fn move_out(&mut self, out: &mut Taken, seq: u32) {
        out.e[..self.n].copy_from_slice(&self.e[..self.n]);
        out.n = self.n;
        out.seq = seq;
        self.n = 0;
    }
}

pub(crate) struct Pending {
    slots: Lock<Slots>,
    /// Entries now (see the module documentation).
    count: AtomicU32,
    /// Batches taken so far: the helper tells an old batch from a new one by it.
    seq: AtomicU32,
    /// 1 while the queue's helper wakes every tick to flush batches left pending (see
    /// `engine::deferred::tick`). A deferral into an empty batch wakes the helper only when this is
    /// 0. The hand-shake: the pusher stores `count` (Relaxed, under the lock; a flusher adds to
    /// `out`, SeqCst), then makes a SeqCst fence and loads `ticking` (SeqCst); the helper stores
    /// 0 in `ticking` and then loads `count` and `out`, all SeqCst. So at least one of them sees
    /// the other's store: if the helper's load of `count` comes after the pusher's fence in the
    /// SeqCst order, it sees the pusher's count or a later one (a store sequenced before a SeqCst
    /// fence is seen by a SeqCst load that follows the fence in that order); if it comes before,
    /// so does the helper's store of 0, and the pusher's load after its fence sees that 0 or a
    /// later value. Either the pusher (flusher) sees 0 and wakes the helper, or the helper sees
    /// the entry (the outstanding read) and keeps ticking.
    ticking: AtomicU32,
    /// Set when a flusher could not take the kernel AIO reap lock: the helper reaps.
    reap_wanted: AtomicU32,
    /// Deferred reads in the kernel AIO context whose completion was not reaped yet. Their iocbs
    /// signal no eventfd (see `engine::deferred`): while this is not 0 the helper keeps ticking
    /// and looks at the completion ring at each tick.
    out: AtomicU32,
    /// The thread pointer (`sys::thread_pointer`) of the last thread that deferred a read into
    /// this batch after finding that this queue is its home queue (`Engine::home`): a thread that
    /// finds its own pointer here has this home queue without looking it up (see
    /// `engine::deferred::burst_queue`). Only a hint: a thread that ended may have left its
    /// pointer to a new thread, whose home queue is another or not chosen yet; such a thread
    /// defers into this queue, which any thread may do (nothing in a deferred read depends on the
    /// thread that made it), until its next read that is not a later one of a batch.
    home_tp: AtomicUsize,
}

impl Pending {
    pub(crate) fn new() -> Pending {
        Pending {
            slots: Lock::new(Slots { n: 0, e: [MaybeUninit::uninit(); BATCH] }),
            count: AtomicU32::new(0),
            seq: AtomicU32::new(0),
            ticking: AtomicU32::new(0),
            reap_wanted: AtomicU32::new(0),
            out: AtomicU32::new(0),
            home_tp: AtomicUsize::new(0),
        }
    }

    /// Adds the entry `make` returns, called under the batch's lock with the sequence number of
    /// the batch it goes into (None: nothing is added, `Push::Declined`); with `expect`, only if
    /// that is the batch pending now, compared on the [`SEQ_MASK`] bits of its sequence number
    /// (else `Push::Moved`, and `make` is not called). If the batch
    /// is full with it, it is moved into `out` (see [`Push::In`]).
    #[inline(always)]
    pub(crate) fn push(&self, expect: Option<u32>, make: impl FnOnce(u32) -> Option<Entry>, out: &mut Taken) -> Push {
        let mut g = self.slots.lock();
        let seq = self.seq.load(Relaxed);
        if expect.is_some_and(|s| s != seq & SEQ_MASK) {
            return Push::Moved;
        }
        let Some(e) = make(seq) else { return Push::Declined };
        let n = g.n;
        g.e[n].write(e);
        g.n = n + 1;
        if g.n == BATCH {
            g.move_out(out, seq);
            self.seq.store(seq.wrapping_add(1), Relaxed);
            self.count.store(0, SeqCst);
            return Push::In { full: true, was_empty: n == 0 };
        }
        // Relaxed: the only reader that needs more than a hint is the helper's hand-shake (see
        // `ticking`), and for it the pusher of the first entry follows this store with a SeqCst
        // fence (`deferred::arm`). An x86 `mov` here instead of an `xchg` (a full barrier) on
        // every read of a batch.
        self.count.store(g.n as u32, Relaxed);
        Push::In { full: false, was_empty: n == 0 }
    }

    /// Takes the whole batch into `out` (false if empty, or if `blocking` is false and the lock is
    /// busy). Async-signal-safe without `blocking`.
    pub(crate) fn take(&self, blocking: bool, out: &mut Taken) -> bool {
        if self.is_empty() {
            return false;
        }
        let g = if blocking { Some(self.slots.lock()) } else { self.slots.try_lock() };
        let Some(mut g) = g else { return false };
        if g.n == 0 {
            return false;
        }
        let seq = self.seq.load(Relaxed);
        g.move_out(out, seq);
        self.seq.store(seq.wrapping_add(1), Relaxed);
        self.count.store(0, SeqCst);
        true
    }

    /// Whether no entry is pending (a hint: see the module documentation).
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(SeqCst) == 0
    }

    /// Batches taken so far (changed only under the batch's lock): the sequence number of the
    /// batch pending now.
    pub(crate) fn seq(&self) -> u32 {
        self.seq.load(Relaxed)
    }

    /// Whether the thread with thread pointer `tp` was found to have this queue as its home queue
    /// (see the field: a hint).
    #[inline(always)]
    pub(crate) fn home_of(&self, tp: usize) -> bool {
        tp != 0 && self.home_tp.load(Relaxed) == tp
    }

    /// The thread with thread pointer `tp` has this queue as its home queue.
    #[inline(always)]
    pub(crate) fn set_home_of(&self, tp: usize) {
        if self.home_tp.load(Relaxed) != tp {
            self.home_tp.store(tp, Relaxed);
        }
    }

    /// See the field.
    pub(crate) fn ticking(&self) -> &AtomicU32 {
        &self.ticking
    }

    /// See the field.
    pub(crate) fn reap_wanted(&self) -> &AtomicU32 {
        &self.reap_wanted
    }

    /// `n` deferred reads went into the kernel AIO context (see `engine::deferred::issue` for
    /// why this is counted after the `io_submit`).
    pub(crate) fn sent(&self, n: usize) {
        self.out.fetch_add(n as u32, SeqCst);
    }

    /// The completion of one of them was reaped.
    pub(crate) fn reaped_one(&self) {
        self.reaped(1);
    }

    /// The completions of `n` of them were reaped.
    pub(crate) fn reaped(&self, n: u32) {
        self.out.fetch_sub(n, SeqCst);
    }

    /// Deferred reads in the context not reaped yet.
    pub(crate) fn outstanding(&self) -> u32 {
        self.out.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Aiocb;

    #[test]
    fn a_full_batch_is_handed_out_once_and_take_empties() {
        // SAFETY: an all-zero aiocb is a valid value of the structure (plain integers and pointers).
        let mut cbs: Vec<Aiocb> = (0..BATCH + 3).map(|_| unsafe { core::mem::zeroed() }).collect();
        let p = Pending::new();
        let mut out = Taken::new();
        let mut fulls = 0;
        for (i, a) in cbs.iter_mut().enumerate() {
            let e = Entry { r: ReqPtr::new(a).unwrap(), held: i as u32, checked: false };
            let Push::In { full, was_empty } = p.push(None, |_| Some(e), &mut out) else { panic!() };
            assert_eq!(was_empty, i == 0 || i == BATCH);
            if full {
                fulls += 1;
                assert_eq!(out.entries().len(), BATCH);
                assert_eq!(out.seq(), 0);
                assert!(out.entries().iter().enumerate().all(|(j, e)| e.held == j as u32));
                assert!(p.is_empty());
            }
        }
        assert_eq!(fulls, 1);
        assert!(!p.is_empty());
        let e = Entry { r: ReqPtr::new(&mut cbs[0]).unwrap(), held: 99, checked: false };
        assert!(matches!(p.push(Some(0), |_| Some(e), &mut out), Push::Moved), "batch 0 was taken");
        assert!(matches!(p.push(Some(1), |_| None, &mut out), Push::Declined));
        let mut rest = Taken::new();
        assert!(p.take(false, &mut rest));
        assert_eq!(rest.seq(), 1);
        assert_eq!(rest.entries().iter().map(|e| e.held).collect::<Vec<_>>(), vec![32, 33, 34]);
        assert!(p.is_empty() && !p.take(true, &mut rest));
        assert_eq!(p.seq(), 2);
    }

    #[test]
    fn an_expected_batch_is_compared_on_the_masked_bits_of_its_number() {
        // SAFETY: an all-zero aiocb is a valid value of the structure (plain integers and pointers).
        let mut a: Aiocb = unsafe { core::mem::zeroed() };
        let p = Pending::new();
        let mut out = Taken::new();
        let big = (SEQ_MASK + 1) * 3 + 5;
        p.seq.store(big, Relaxed);
        let e = Entry { r: ReqPtr::new(&mut a).unwrap(), held: 1, checked: false };
        assert!(matches!(p.push(Some(4), |_| Some(e), &mut out), Push::Moved), "another batch");
        assert!(matches!(p.push(Some(big & SEQ_MASK), |s| (s == big).then_some(e), &mut out), Push::In { .. }));
    }
}
