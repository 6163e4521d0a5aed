//! A wait's spin before it sleeps while a worker is about to complete what it waits for
//! ([`Wait::spin`]).

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use core::time::Duration;

use super::{bits, Wait};
use crate::engine::backend::threads::{spin_for, SPIN_SKIP};
use crate::engine::core::Engine;

/// Waits left to sleep without spinning (see `SPIN_SKIP`).
static SKIP: AtomicU32 = AtomicU32::new(0);

impl Wait<'_> {
    /// Before each sleep on the event counter while an awaited file request is with the
    /// workers of a queue in `soon` (`WaitSet::soon`), one of whose pools last ran a quick
    /// request (`Pool::quick`: not an O_DIRECT transfer, an fsync or a read from the device):
    /// looks whether the wait is over, again and again, for up to `SPIN` (and not past the
    /// deadline, `left`). True if it is over.
    ///
    /// A worker's buffered write or read of a cached page takes a few microseconds; a sleep and
    /// the wake-up that ends it cost both sides more: the worker's `futex` wake-up, and, worse,
    /// the scheduler tends to wake the sleeper on the waker's CPU, where it preempts the worker;
    /// the sleeper then submits, finds nothing done (the worker is preempted) and sleeps again,
    /// and the two take turns on one CPU while the other idles. Measured with fio's posixaio loop
    /// (buffered random writes at depth 32; Linux 6.18, 2 CPUs): without the spin the
    /// submitting thread slept 0.4 to 0.7 times per request and the worker was preempted as
    /// often (glibc: 0.06 to 0.26); with it, 0.06 each (0.10 to 0.24 spinning only before a
    /// wait's first sleep: the spin also gives the scheduler time to move the preempted worker
    /// to the idle CPU). So a wait woken by other requests' completions spins again, for at
    /// most `SPIN` per wake-up, which costs less than the wake-up did. Never when the thread may
    /// use one CPU only (the worker could not run meanwhile), nor when as many threads of the
    /// process spin already as it has CPUs (`spin_slot`). It only reads the awaited requests'
    /// status (and takes and gives back a spinning slot, one atomic each): nothing is locked, so
    /// it stays async-signal-safe and needs no cleanup.
    pub(super) fn spin(&mut self, eng: &Engine, soon: u64, left: Option<Duration>) -> bool {
        if !bits(soon).any(|q| eng.queue(q).pool.quick()) {
            return false;
        }
        // After a spin that saw nothing, the next `SPIN_SKIP` waits sleep at once (see there).
        let skip = SKIP.load(Relaxed);
        if skip > 0 {
            SKIP.store(skip - 1, Relaxed);
            return false;
        }
        let spin = left.map_or(SPIN, |l| l.min(SPIN));
        match spin_for(spin, || self.check(Some(eng)).0) {
            Some(done) => {
                // A spin cut short by the deadline says nothing about the next waits.
                if !done && spin == SPIN {
                    SKIP.store(SPIN_SKIP, Relaxed);
                }
                done
            }
            None => false,
        }
    }
}

/// How long a wait looks at its requests before it sleeps while a worker is inside one of them
/// (see [`Wait::spin`]): about what a cross-CPU wake-up costs.
const SPIN: Duration = Duration::from_micros(20);
