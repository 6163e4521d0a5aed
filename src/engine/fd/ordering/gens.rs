//! The per-fd generation counts behind `aio_fsync`: what lets an fsync wait for exactly the
//! reads and writes submitted before it, while requests submitted after it go straight on.
//!
//! Every read or write admitted on an fd is counted, until it completes, in the generation that is
//! *current* when it is admitted. An fsync *closes* the current generation (if it has requests):
//! later requests count in the next one, and the fsync is issued once every generation up to the
//! one it closed has drained. A closed generation takes no new requests (point 2), so it
//! drains as its requests complete, whatever is submitted meanwhile: a stream of writes cannot
//! starve an fsync. Any number of fsyncs may wait at once, each for its own predecessors. fsyncs
//! themselves are counted apart, in `now` (a later fsync waits for the writes an earlier one
//! covers, not for the earlier one; see `super`).
//!
//! The state is one word, `now` (the current generation's number, the fsyncs in flight, two
//! flags), and `GENS` counters: generation `g` counts in `slots[g % GENS]`. The fast path is a
//! load of `now`, one increment of the current generation's slot and a second load of `now` at
//! submission ([`Generations::try_count`]), and one decrement of that slot and one load of `now`
//! at completion ([`Generations::uncount`]): one read-modify-write each, as for a plain in-flight
//! count. Closing and retiring happen under the fd's lock.
//!
//! # Why it is correct
//!
//! 1. *A request is counted where it is taken out.* It increments `slots[g % GENS]` for its
//!    generation `g`, keeps `g` (5 bits) in its meta word, and decrements the same slot when it
//!    completes. So a slot holds exactly the requests counted in it that have not completed.
//! 2. *Everything submitted before an fsync is counted in a generation it waits for.* The fast
//!    path reads `now`, increments the slot of the generation it read, and reads `now` again: if
//!    the generation is still current (and no drain began), the count is kept, else it is taken
//!    back and the request goes the slow way (counted under the fd's lock, where the generation
//!    cannot change). All `SeqCst`: a closer advances `now` and then reads the slots, so either
//!    the second read saw the generation still current, and then the closer's reads come after
//!    the increment and see it, or it saw it closed and the count was taken back. So a request
//!    whose submission returned before `aio_fsync` was called is counted in a generation up to
//!    the one that fsync closes, and no count ever lands in a generation that has closed (a slot
//!    count taken back may briefly make a closed generation look busy: only a delay, and the
//!    slow path that follows evaluates the fd).
//! 3. *No slot is shared by two live generations.* The generations not yet retired are `oldest`
//!    (kept under the fd's lock) up to the current one, and closing needs the next generation's
//!    slot to be outside them (`current + 1 - oldest < GENS`; else the fsync waits unclosed, see
//!    `super`), so a slot that a new generation takes is empty (but for a count about to be taken
//!    back, point 2).
//! 4. *No fsync waits for a completion that already left.* An fsync waiting for the generations
//!    before `g` is issued once `oldest` has reached `g`, and `oldest` advances, under the lock,
//!    past every closed generation whose slot reads zero. A completion decrements its slot and then
//!    reads `now`; a closer advances `now` and then (in the same critical section) reads the slots.
//!    All of it is `SeqCst`, so in the single total order either the completion's read sees the
//!    generation closed (then, if it took the slot to zero, it kicks the fd: its lists are
//!    evaluated under the lock, now or by a helper, after the decrement) or its decrement precedes
//!    the closer's read of the slot, which then sees it. The closer sets `CLOSED` in the same
//!    operation that advances the generation, and it is cleared (under the lock) only once every
//!    closed generation has retired, so a completion that reads `CLOSED` clear has nobody to
//!    tell: that is the whole completion path when no fsync waits.
//! 5. *The drain flag (`HOLD`).* The same pairings: a drain sets `HOLD` in `now` and then reads
//!    the slots; a completion decrements and then reads `now`, so either the drain sees the
//!    decrement or the completion sees `HOLD` and kicks (an fsync's completion too, since the
//!    drain waits for fsyncs in flight: they are counted in `now` itself); a fast-path submitter
//!    increments and then reads `now`, so either the drain sees the count or the submitter sees
//!    `HOLD`, takes the count back and goes the slow way, where the drain holds it.
//! 6. *Five bits of generation are enough* for an fsync, which records the generation it waits
//!    for: it is looked at after every retirement, and `oldest` never passes the current
//!    generation, which is within `GENS` of `oldest`, so `oldest - g` stays within `-GENS..=GENS`
//!    when compared ([`Generations::drained`]). Generation numbers are 24 bits and wrap; only
//!    differences are compared. A slot's count is 32 bits and the fsync count 38: more requests in
//!    flight on one fd than that cannot exist (each is an aiocb in the program's memory).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use crate::engine::request::GEN_BITS;

/// Generation slots (a power of two, at most 16, so that 5 bits of a generation number name its
/// slot and tell it from every other live generation).
pub(crate) const GENS: u32 = 8;
const _: () = assert!(GENS.is_power_of_two() && GENS < GEN_BITS + 1 && (GEN_BITS + 1).is_multiple_of(GENS));

// `now`: the current generation in bits 0-23 (so its slot is the low bits of the word), the two
// flags in bits 24 and 25, and the fsyncs in flight from bit 26 up: anything above the generation
// means "busy".

/// Generation numbers are 24 bits and wrap.
const GEN_MASK: u32 = 0x00ff_ffff;
/// New requests must take the slow path: a drain holds them.
const HOLD: u64 = 1 << 24;
/// Some closed generation is not retired yet.
const CLOSED: u64 = 1 << 25;
/// One fsync in flight.
const SYNC_ONE: u64 = 1 << 26;
const ABOVE_GEN: u32 = 24;

fn gen_of(w: u64) -> u32 {
    w as u32 & GEN_MASK
}

/// The slot of generation `g` (any number of its low bits, from 3 up).
fn slot(g: u32) -> usize {
    (g % GENS) as usize
}

/// How far generation `a` is ahead of `b`.
fn ahead(a: u32, b: u32) -> u32 {
    a.wrapping_sub(b) & GEN_MASK
}

/// One fd's generation counts (see the module documentation).
pub(crate) struct Generations {
    /// fsyncs in flight, `HOLD`, `CLOSED` and the current generation.
    now: AtomicU64,
    /// Requests in flight per generation slot.
    slots: [AtomicU32; GENS as usize],
}

impl Generations {
    pub(crate) const fn new() -> Self {
        Generations { now: AtomicU64::new(0), slots: [const { AtomicU32::new(0) }; GENS as usize] }
    }

    /// A state whose current (and oldest) generation is `g`, for the tests of wrapping.
    #[cfg(test)]
    pub(crate) fn starting_at(g: u32) -> Self {
        let s = Self::new();
        s.now.store((g & GEN_MASK) as u64, Relaxed);
        s
    }

    /// The current generation (stable under the fd's lock, where closers are).
    pub(crate) fn current(&self) -> u32 {
        gen_of(self.now.load(SeqCst))
    }

    /// The submission fast path: unless `HOLD` is set, counts one request in the current
    /// generation and returns that generation; `None`: nothing is counted, take the slow path
    /// (which evaluates the fd's lists: taking a count back may have emptied a closed slot).
    pub(crate) fn try_count(&self) -> Option<u32> {
        let w = self.now.load(SeqCst);
        if w & HOLD != 0 {
            return None;
        }
        let s = &self.slots[slot(w as u32)];
        s.fetch_add(1, SeqCst);
        // Still the current generation, and no drain, once counted (point 2)?
        if (self.now.load(SeqCst) ^ w) & (GEN_MASK as u64 | HOLD) == 0 {
            return Some(gen_of(w));
        }
        s.fetch_sub(1, SeqCst);
        None
    }

    /// Counts one request in the current generation, whatever `HOLD` says (under the fd's lock).
    pub(crate) fn count(&self) -> u32 {
        let g = self.current();
        self.slots[slot(g)].fetch_add(1, SeqCst);
        g
    }

    /// Takes out one request counted in generation `g` (any number of its low bits, from 3 up).
    /// Returns whether the fd's lists must be evaluated: `g`'s slot is closed and now empty, or
    /// `HOLD` is set. Lock-free; async-signal-safe.
    pub(crate) fn uncount(&self, g: u32) -> bool {
        self.uncount_n(g, 1)
    }

    /// [`Generations::uncount`] of `n` requests counted in generation `g`, in one step: as if the
    /// `n` had completed at the same moment, which is one of the orders they could have completed
    /// in (until this step all `n` are still counted, so nothing that waits for the slot to
    /// empty, a drain or an fsync, can have moved on their account meanwhile).
    pub(crate) fn uncount_n(&self, g: u32, n: u32) -> bool {
        let before = self.slots[slot(g)].fetch_sub(n, SeqCst);
        let w = self.now.load(SeqCst);
        if w & (HOLD | CLOSED) == 0 {
            // No generation is closed (the closer sets CLOSED in the same operation that advances
            // the generation): nobody waits for this one.
            return false;
        }
        w & HOLD != 0 || (before == n && slot(w as u32) != slot(g))
    }

    /// For an fsync submitted now (under the fd's lock; `oldest` is the oldest generation not
    /// retired): closes the current generation if it has requests, and returns the generation
    /// before which every one must drain before the fsync may go (the current one if it had none,
    /// else the next). `None`: the next generation's slot is still in use.
    pub(crate) fn close(&self, oldest: u32) -> Option<u32> {
        let mut w = self.now.load(SeqCst);
        let c = gen_of(w);
        if self.slots[slot(c)].load(SeqCst) == 0 {
            // Nothing to close: a request counted after this read is concurrent with the fsync.
            return Some(c);
        }
        let next = (c + 1) & GEN_MASK;
        if ahead(next, oldest) >= GENS {
            return None;
        }
        // Only fsync completions change `now` outside the lock (in the bits above the flags).
        loop {
            let new = w & !(GEN_MASK as u64) | next as u64 | CLOSED;
            match self.now.compare_exchange(w, new, SeqCst, SeqCst) {
                Ok(_) => return Some(next),
                Err(seen) => w = seen,
            }
        }
    }

    /// Advances `oldest` past every closed generation that has drained (under the fd's lock).
    pub(crate) fn retire(&self, oldest: &mut u32) {
        let c = self.current();
        while *oldest != c && self.slots[slot(*oldest)].load(SeqCst) == 0 {
            *oldest = (*oldest + 1) & GEN_MASK;
        }
        if *oldest == c && self.now.load(SeqCst) & CLOSED != 0 {
            self.now.fetch_and(!CLOSED, SeqCst);
        }
    }

    /// Whether every generation before `g` (its low 5 bits) has drained, `oldest` being the oldest
    /// not retired (see point 6 of the module documentation for why 5 bits tell).
    pub(crate) fn drained(oldest: u32, g: u32) -> bool {
        oldest.wrapping_sub(g) & GEN_BITS <= GENS
    }

    /// One more fsync in flight (under the fd's lock).
    pub(crate) fn sync_started(&self) {
        self.now.fetch_add(SYNC_ONE, SeqCst);
    }

    /// An fsync completed. Returns whether the fd's lists must be evaluated: `HOLD` is set (a drain
    /// waits for everything in flight, fsyncs included; point 5). Lock-free; async-signal-safe.
    pub(crate) fn sync_done(&self) -> bool {
        self.now.fetch_sub(SYNC_ONE, SeqCst) & HOLD != 0
    }

    /// Sets or clears `HOLD` (under the fd's lock).
    pub(crate) fn hold(&self, on: bool) {
        let held = self.now.load(SeqCst) & HOLD != 0;
        if on && !held {
            self.now.fetch_or(HOLD, SeqCst);
        } else if !on && held {
            self.now.fetch_and(!HOLD, SeqCst);
        }
    }

    /// Requests counted in every slot, and fsyncs in flight (exact under the fd's lock but for
    /// late counts, point 2).
    pub(crate) fn total(&self) -> u32 {
        let counted = self.slots.iter().fold(0u32, |a, s| a.wrapping_add(s.load(SeqCst)));
        counted.wrapping_add((self.now.load(SeqCst) / SYNC_ONE) as u32)
    }

    /// Whether anything is in flight or held (relaxed: a hint): fsyncs, a closed generation not yet
    /// retired, `HOLD`, or requests in the current generation.
    pub(crate) fn busy_hint(&self) -> bool {
        let w = self.now.load(Relaxed);
        // Everything above the generation: fsyncs, HOLD, CLOSED.
        w >> ABOVE_GEN != 0 || self.slots[slot(w as u32)].load(Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_with_their_generation() {
        let g = Generations::new();
        let mut oldest = 0;
        let a = g.try_count().unwrap();
        let b = g.try_count().unwrap();
        assert_eq!((a, b), (0, 0));
        let f = g.close(oldest).unwrap();
        assert_eq!(f, 1, "the fsync closes generation 0 and waits for it");
        assert!(!Generations::drained(oldest, f));
        let c = g.try_count().unwrap();
        assert_eq!(c, 1);
        assert_eq!(g.total(), 3);
        assert!(!g.uncount(c), "a current generation's completion asks for nothing");
        assert!(!g.uncount(a));
        g.retire(&mut oldest);
        assert_eq!(oldest, 0, "b still runs");
        assert!(g.uncount(b), "the last of a closed generation asks for an evaluation");
        g.retire(&mut oldest);
        assert_eq!(oldest, 1);
        assert!(Generations::drained(oldest, f));
        assert_eq!(g.total(), 0);
        assert!(!g.busy_hint());
    }

    #[test]
    fn an_empty_generation_is_not_closed() {
        let g = Generations::new();
        assert_eq!(g.close(0), Some(0));
        assert!(Generations::drained(0, 0), "nothing earlier: the fsync may go at once");
        assert_eq!(g.close(0), Some(0), "fsyncs are not counted: a second one does not close either");
        assert!(!g.busy_hint());
    }

    #[test]
    fn fsyncs_in_flight_are_counted_apart() {
        let g = Generations::new();
        g.sync_started();
        assert!(g.busy_hint());
        assert_eq!(g.total(), 1);
        assert_eq!(g.close(0), Some(0), "an fsync in flight is no predecessor");
        assert!(!g.sync_done());
        assert!(!g.busy_hint());
        assert_eq!(g.current(), 0);
        g.sync_started();
        g.hold(true);
        assert!(g.sync_done(), "a drain waits for fsyncs too");
    }

    #[test]
    fn closing_waits_for_a_free_slot() {
        let g = Generations::new();
        let mut oldest = 0;
        let mut first = Vec::new();
        for i in 0..GENS - 1 {
            first.push(g.try_count().unwrap());
            assert_eq!(g.close(oldest), Some(i + 1));
        }
        g.try_count().unwrap();
        assert_eq!(g.close(oldest), None, "the next generation's slot holds generation 0");
        assert!(g.uncount(first[0]));
        g.retire(&mut oldest);
        assert_eq!(oldest, 1);
        assert_eq!(g.close(oldest), Some(GENS));
    }

    #[test]
    fn drained_tells_within_the_window() {
        for oldest in [0, 5, 30, 31, 32, 1000, GEN_MASK] {
            for d in 0..=GENS {
                let ahead_of = (oldest + d) & GEN_MASK;
                let behind = oldest.wrapping_sub(d) & GEN_MASK;
                assert_eq!(Generations::drained(oldest, ahead_of), d == 0, "{oldest} {d}");
                assert!(Generations::drained(oldest, behind), "{oldest} {d}");
            }
        }
    }

    #[test]
    fn a_count_in_a_closed_generation_is_taken_back() {
        let g = Generations::new();
        let mut oldest = 0;
        let a = g.try_count().unwrap();
        // A submitter read generation 0 and is about to count; an fsync closes generation 0.
        let read = g.now.load(SeqCst);
        assert_eq!(g.close(oldest), Some(1));
        // It counts, reads `now` again, sees the generation closed, and takes the count back (what
        // `try_count` does between its two reads).
        g.slots[slot(read as u32)].fetch_add(1, SeqCst);
        assert_ne!(gen_of(g.now.load(SeqCst)), gen_of(read));
        g.slots[slot(read as u32)].fetch_sub(1, SeqCst);
        assert!(g.uncount(a));
        g.retire(&mut oldest);
        assert_eq!(oldest, 1, "generation 0 drained with only its own request");
        assert_eq!(g.try_count(), Some(1), "the slow way counts it in the current generation");
    }

    #[test]
    fn hold_sends_submitters_the_slow_way_and_completions_to_evaluate() {
        let g = Generations::new();
        let a = g.try_count().unwrap();
        g.hold(true);
        assert_eq!(g.try_count(), None);
        assert_eq!(g.total(), 1, "the refused submitter counted nothing");
        assert!(g.uncount(a), "a completion under HOLD asks for an evaluation");
        g.hold(false);
        assert!(g.try_count().is_some());
    }

    #[test]
    fn generation_numbers_wrap() {
        let g = Generations::starting_at(GEN_MASK - 2);
        let mut oldest = GEN_MASK - 2;
        let mut inflight = Vec::new();
        for _ in 0..6 {
            inflight.push(g.try_count().unwrap());
            g.close(oldest).unwrap();
        }
        assert_eq!(g.current(), 3, "wrapped past zero");
        for r in inflight {
            g.uncount(r & GEN_BITS);
        }
        g.retire(&mut oldest);
        assert_eq!(oldest, 3);
        assert_eq!(g.total(), 0);
        assert!(!g.busy_hint());
    }

    /// Threads count and complete requests while another closes generations and retires them under
    /// a lock, as fsyncs would: a generation retires only after every request counted in it has
    /// completed, and in the end everything retires.
    #[test]
    fn concurrent_counts_and_closes_agree() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        const THREADS: usize = 3;
        const ROUNDS: usize = 20_000;
        struct Shared {
            g: Generations,
            oldest: Mutex<u32>,
            /// Requests counted and not yet completed, per generation (full number mod 256).
            live: Vec<AtomicU32>,
            closes: AtomicU32,
            stop: AtomicBool,
        }
        impl Shared {
            /// Retires under the lock and checks that what retired has nothing live.
            fn retire(&self) {
                let mut o = self.oldest.lock().unwrap();
                let before = *o;
                self.g.retire(&mut o);
                let mut x = before;
                while x != *o {
                    assert_eq!(self.live[(x % 256) as usize].load(SeqCst), 0, "generation {x} retired early");
                    x = (x + 1) & GEN_MASK;
                }
            }
        }
        let s = Arc::new(Shared {
            g: Generations::new(),
            oldest: Mutex::new(0),
            live: (0..256).map(|_| AtomicU32::new(0)).collect(),
            closes: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut i = 0;
                    while i < ROUNDS || (s.closes.load(SeqCst) < 300 && i < 50 * ROUNDS) {
                        i += 1;
                        // A count the fast path keeps is in a generation not yet closed (point 2).
                        let full = match s.g.try_count() {
                            Some(g) => g,
                            None => continue,
                        };
                        let live = &s.live[(full % 256) as usize];
                        live.fetch_add(1, SeqCst);
                        std::hint::spin_loop();
                        live.fetch_sub(1, SeqCst);
                        // The meta word keeps 5 bits.
                        if s.g.uncount(full & GEN_BITS) {
                            s.retire();
                        }
                    }
                })
            })
            .collect();
        let closer = {
            let s = s.clone();
            std::thread::spawn(move || {
                while !s.stop.load(SeqCst) {
                    s.retire();
                    let closed = {
                        let o = s.oldest.lock().unwrap();
                        let before = s.g.current();
                        s.g.close(*o);
                        s.g.current() != before
                    };
                    if closed {
                        s.closes.fetch_add(1, SeqCst);
                    }
                }
            })
        };
        for w in workers {
            w.join().unwrap();
        }
        s.stop.store(true, SeqCst);
        closer.join().unwrap();
        s.retire();
        assert_eq!(*s.oldest.lock().unwrap(), s.g.current(), "everything drained retires");
        assert_eq!(s.g.total(), 0);
        assert!(!s.g.busy_hint());
    }
}
