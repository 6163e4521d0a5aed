//! The per-fd generation counts behind `aio_fsync`: what lets an fsync wait for exactly the
//! reads and writes submitted before it, while requests submitted after it go straight on.
//!
//! Every read or write admitted on an fd is counted, until it completes, in the generation that is
//! *current* when it is admitted. An fsync *closes* the current generation (if it has requests):
//! the requests counted in it stay counted under its number, later ones count in the next one, and
//! the fsync is issued once every generation up to the one it closed has drained. A closed
//! generation takes no new requests, so it drains as its requests complete, whatever is submitted
//! meanwhile: a stream of writes cannot starve an fsync. Any number of fsyncs may wait at once,
//! each for its own predecessors. (fsyncs themselves are not counted here: a later fsync waits
//! for the writes an earlier one covers, not for the earlier one, so fsyncs run side by side, as
//! fio's `fsync=N` needs; see `super`.)
//!
//! The state is one word, `now` (the current generation's number and count, and two flags), and
//! one count per closed generation, in `GENS` slots indexed by the generation number. The fast
//! path is one atomic read-modify-write of `now` at submission ([`Generations::try_count`]) and one
//! at completion ([`Generations::uncount`]); closing and retiring happen under the fd's lock.
//!
//! # Why it is correct
//!
//! 1. *Each counted request is in exactly one count.* A request is counted by a `fetch_add` on
//!    `now`, which also tells it its generation `g` (kept in its meta word, 5 bits). Closing `c`
//!    is one compare-and-swap of `now` from (c, n) to (c+1, 0): the `n` requests added before it
//!    in `now`'s modification order are exactly those the closer then adds to `closed[c % GENS]`,
//!    the ones after it are in c+1. On completion a request reads `now`: if its generation is
//!    still current, a compare-and-swap takes it out of `now` and succeeds only if `now` did not
//!    change meanwhile (so it was still current at that instant); otherwise `g` was closed
//!    (generations only advance) and it decrements the slot.
//! 2. *Five bits of generation are enough.* The generations of counted requests lie between the
//!    oldest generation not yet retired (`oldest`, kept under the fd's lock) and the current one,
//!    and closing needs `current - oldest < GENS` (else the slot it needs is still in use; the
//!    fsync then waits unclosed, see `super`), so they never differ by more than `GENS` (8 < 32).
//!    An fsync waiting for the generations before `g` is looked at after every retirement, which
//!    moves `oldest` to at most the current generation, so `oldest - g` stays within
//!    `-GENS..=GENS` when it is compared ([`Generations::drained`]). The generation number itself
//!    is 24 bits and wraps; only differences are compared.
//! 3. *A slot's count is exact under the lock.* The closer adds `n` to the slot after its
//!    compare-and-swap, so a completion may decrement the slot first (it goes transiently below
//!    zero, in wrapping arithmetic). Both steps happen in one critical section of the fd's lock,
//!    and the slot is only read as a whole (to retire a generation) under that lock, where it is
//!    `n - completed >= 0`. A completion whose `fetch_sub` returns 1 took the slot to zero after
//!    the add, and reports it; if the closer's add takes it to zero, the closer sees that itself.
//! 4. *No fsync waits for a completion that already left.* An fsync waiting for the generations
//!    before `g` is issued once `oldest` has reached `g`. `oldest` advances (under the lock) past
//!    every closed generation whose slot is zero. The last decrement of each slot is either a
//!    completion that then kicks the fd (its lists are evaluated under the lock, now or by a
//!    helper, after the decrement) or the closer's add, followed by an evaluation in the same
//!    critical section.
//! 5. *The drain flag (`HOLD`).* A drain sets `HOLD` (`fetch_or`) and then reads the counts; all
//!    of it is `SeqCst` and on the same word. A fast-path submitter's `fetch_add` comes either
//!    before the `fetch_or` (then the drain's read counts it) or after (then it sees `HOLD`, takes
//!    its count back and goes the slow way, under the lock). A completion's compare-and-swap of
//!    `now` either precedes the `fetch_or` (the drain's read sees it) or sees `HOLD` and kicks; a
//!    completion in a closed slot that is the last one in flight takes its slot to zero and kicks.
//! 6. The count is 32 bits: more requests in flight on one fd than that cannot exist (each is an
//!    aiocb in the program's memory).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use crate::engine::request::GEN_BITS;

/// Closed generations kept apart at most (a power of two, at most 16, so that 5 bits of a
/// generation number name its slot and tell it from every other live generation).
pub(crate) const GENS: u32 = 8;
const _: () = assert!(GENS.is_power_of_two() && GENS < GEN_BITS + 1 && (GEN_BITS + 1) % GENS == 0);

const COUNT: u64 = 0xffff_ffff;
const GEN_SHIFT: u32 = 32;
/// Generation numbers are 24 bits and wrap.
const GEN_MASK: u32 = 0x00ff_ffff;
/// Some closed generation is not retired yet.
const CLOSED: u64 = 1 << 62;
/// New requests must take the slow path: a drain holds them.
const HOLD: u64 = 1 << 63;

fn gen_of(w: u64) -> u32 {
    (w >> GEN_SHIFT) as u32 & GEN_MASK
}

fn count_of(w: u64) -> u32 {
    (w & COUNT) as u32
}

/// How far generation `a` is ahead of `b`.
fn ahead(a: u32, b: u32) -> u32 {
    a.wrapping_sub(b) & GEN_MASK
}

/// One fd's generation counts (see the module documentation).
pub(crate) struct Generations {
    /// The current generation's count (bits 0-31), its number (32-55), `CLOSED`, `HOLD`.
    now: AtomicU64,
    /// Requests in flight per closed generation, at `generation % GENS`.
    closed: [AtomicU32; GENS as usize],
}

impl Generations {
    pub(crate) const fn new() -> Self {
        Generations { now: AtomicU64::new(0), closed: [const { AtomicU32::new(0) }; GENS as usize] }
    }

    /// A state whose current (and oldest) generation is `g`, for the tests of wrapping.
    #[cfg(test)]
    pub(crate) fn starting_at(g: u32) -> Self {
        let s = Self::new();
        s.now.store(((g & GEN_MASK) as u64) << GEN_SHIFT, Relaxed);
        s
    }

    /// The current generation (under the fd's lock, where only fast-path counts change `now`).
    pub(crate) fn current(&self) -> u32 {
        gen_of(self.now.load(SeqCst))
    }

    /// The submission fast path: counts one request in the current generation and returns that
    /// generation, unless `HOLD` is set; then nothing stays counted and the caller takes the slow
    /// path (which evaluates the fd's lists: taking the count back may have drained something).
    pub(crate) fn try_count(&self) -> Option<u32> {
        let w = self.now.fetch_add(1, SeqCst);
        if w & HOLD == 0 {
            return Some(gen_of(w));
        }
        self.uncount(gen_of(w));
        None
    }

    /// Counts one request in the current generation, whatever `HOLD` says (under the fd's lock).
    pub(crate) fn count(&self) -> u32 {
        gen_of(self.now.fetch_add(1, SeqCst))
    }

    /// Takes out one request counted in generation `g` (its low 5 bits are enough, see the module
    /// documentation). Returns whether the fd's lists must be evaluated: `g` was closed and has
    /// now drained, or `HOLD` is set. Lock-free; async-signal-safe.
    pub(crate) fn uncount(&self, g: u32) -> bool {
        let g = g & GEN_BITS;
        let mut w = self.now.load(SeqCst);
        loop {
            if gen_of(w) & GEN_BITS != g {
                return self.closed[(g % GENS) as usize].fetch_sub(1, SeqCst) == 1;
            }
            match self.now.compare_exchange_weak(w, w - 1, SeqCst, SeqCst) {
                Ok(_) => return w & HOLD != 0,
                Err(seen) => w = seen,
            }
        }
    }

    /// For an fsync submitted now (under the fd's lock; `oldest` is the oldest generation not
    /// retired): closes the current generation if it has requests, and returns the generation
    /// before which every one must drain before the fsync may go (the current one if it had none,
    /// else the next). `None`: closing needs a slot that is still in use.
    pub(crate) fn close(&self, oldest: u32) -> Option<u32> {
        let mut w = self.now.load(SeqCst);
        loop {
            let (c, n) = (gen_of(w), count_of(w));
            if n == 0 {
                // Nothing to close: a request counted after this load comes after the fsync.
                return Some(c);
            }
            if ahead(c, oldest) >= GENS {
                return None;
            }
            let next = w & HOLD | CLOSED | (((c + 1) & GEN_MASK) as u64) << GEN_SHIFT;
            match self.now.compare_exchange(w, next, SeqCst, SeqCst) {
                Ok(_) => {
                    self.closed[(c % GENS) as usize].fetch_add(n, SeqCst);
                    return Some((c + 1) & GEN_MASK);
                }
                Err(seen) => w = seen,
            }
        }
    }

    /// Advances `oldest` past every closed generation that has drained (under the fd's lock).
    pub(crate) fn retire(&self, oldest: &mut u32) {
        let c = self.current();
        while *oldest != c && self.closed[(*oldest % GENS) as usize].load(SeqCst) == 0 {
            *oldest = (*oldest + 1) & GEN_MASK;
        }
        if *oldest == c && self.now.load(SeqCst) & CLOSED != 0 {
            self.now.fetch_and(!CLOSED, SeqCst);
        }
    }

    /// Whether every generation before `g` (its low 5 bits) has drained, `oldest` being the oldest
    /// not retired (see point 2 of the module documentation for why 5 bits tell).
    pub(crate) fn drained(oldest: u32, g: u32) -> bool {
        oldest.wrapping_sub(g) & GEN_BITS <= GENS
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

    /// Requests counted in every generation (exact under the fd's lock).
    pub(crate) fn total(&self) -> u32 {
        let closed = self.closed.iter().fold(0u32, |a, s| a.wrapping_add(s.load(SeqCst)));
        count_of(self.now.load(SeqCst)).wrapping_add(closed)
    }

    /// Whether anything is counted, closed or held (relaxed: a hint).
    pub(crate) fn busy_hint(&self) -> bool {
        self.now.load(Relaxed) & (COUNT | CLOSED | HOLD) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_move_with_their_generation() {
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
    fn closing_waits_for_a_free_slot() {
        let g = Generations::new();
        let mut oldest = 0;
        let mut first = Vec::new();
        for i in 0..GENS {
            first.push(g.try_count().unwrap());
            assert_eq!(g.close(oldest), Some(i + 1));
        }
        g.try_count().unwrap();
        assert_eq!(g.close(oldest), None, "every slot holds an undrained generation");
        assert!(g.uncount(first[0]));
        g.retire(&mut oldest);
        assert_eq!(oldest, 1);
        assert_eq!(g.close(oldest), Some(GENS + 1));
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
    fn a_closed_count_may_go_below_zero_until_the_closer_adds() {
        let g = Generations::new();
        let mut oldest = 0;
        let a = g.try_count().unwrap();
        // Close by hand: the compare-and-swap, then a completion, then the add.
        let w = g.now.load(SeqCst);
        g.now.store(CLOSED | 1 << GEN_SHIFT, SeqCst);
        assert!(!g.uncount(a), "the slot goes to -1: nobody reports a drain yet");
        g.closed[0].fetch_add(count_of(w), SeqCst);
        g.retire(&mut oldest);
        assert_eq!(oldest, 1, "the closer's add took the slot to zero");
    }

    #[test]
    fn hold_sends_submitters_the_slow_way_and_completions_to_evaluate() {
        let g = Generations::new();
        let a = g.try_count().unwrap();
        g.hold(true);
        assert_eq!(g.try_count(), None);
        assert_eq!(g.total(), 1, "the refused submitter took its count back");
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
            g.uncount(r);
        }
        g.retire(&mut oldest);
        assert_eq!(oldest, 3);
        assert_eq!(g.total(), 0);
    }

    /// Threads count and complete requests while another closes generations and retires them under
    /// a lock, as fsyncs would: a generation retires only after every request counted in it has
    /// completed, and in the end everything retires.
    #[test]
    fn concurrent_counts_and_closes_agree() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        const THREADS: usize = 3;
        const ROUNDS: usize = 5_000;
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
                    while i < ROUNDS || s.closes.load(SeqCst) < 300 {
                        i += 1;
                        let full = s.g.try_count().unwrap();
                        // Five bits name the generation: exactly one live generation (within
                        // GENS of `oldest`) has them.
                        let g = full & GEN_BITS;
                        {
                            let o = *s.oldest.lock().unwrap();
                            let mut live = (0..=GENS).map(|d| (o + d) & GEN_MASK).filter(|x| x & GEN_BITS == g);
                            assert_eq!(live.next(), Some(full));
                        }
                        let live = &s.live[(full % 256) as usize];
                        live.fetch_add(1, SeqCst);
                        std::hint::spin_loop();
                        live.fetch_sub(1, SeqCst);
                        if s.g.uncount(g) {
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
