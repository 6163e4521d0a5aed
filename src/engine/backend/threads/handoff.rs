//! Handing work to a pool's workers.
//!
//! A cross-CPU wake-up costs about 12 µs on the reference machine, far more than a page-cached
//! transfer, so the pool wakes a worker only when nobody would look at the work list otherwise.
//! The work list, the count of *active* workers (running a request other than a wait on a stream,
//! looking at the list, just started, or woken and not yet running) and the set of sleeping
//! workers are one value under one lock ([`Work`]): a push wakes one sleeping worker, and only if
//! no worker is active (that worker looks at the list again after its request, without a system
//! call). Each sleeping worker sleeps on a word of its own, so a wake-up wakes exactly the worker
//! chosen, which the waker has already counted active. A stream of requests on one file is so run
//! by one worker with no wake-up at all while the submitter keeps it busy, as glibc runs the
//! requests of one descriptor on one thread. A worker that finds the list empty watches for a push
//! for a while before it sleeps, still counted active ([`Pool::await_push`]), so a submitter that
//! waits for each request before it makes the next costs no wake-up either.
//!
//! More workers are woken (or started) when the active ones stop making progress while work waits:
//! a worker that takes a request with more queued behind it arms a stall check (once, until the
//! check ran), and the queue's helper, `STALL` later, wakes or starts another worker if no request
//! finished meanwhile ([`Pool::stall_check`]); a worker about to wait on a stream steps aside at
//! once (`Pool::step_aside`). Before a worker sleeps it tells the sink (`Completions::idle`), which
//! lets go of the files its finished requests left held for the next ones. A push that finds
//! every active worker inside a request arms the stall check too (they may have taken their
//! requests with nothing behind them); a worker counts as inside its request until its transfer
//! is over, before the request is published, so a program that submits its next request when
//! the last one completes does not wake the helper.
//!
//! No wake-up is lost: `active` and `asleep` change only under the work lock; a worker finds the
//! list empty and enters `asleep` in one critical section, and a push adds to the list and reads
//! both in one, so it either sees the worker active (which then looks at the list again) or
//! asleep (and wakes it). The wake word is written only by the one who took the worker out of
//! `asleep`, and the worker sleeps in `futex` only while the word is still 0 (the kernel compares
//! it as it goes to sleep). A worker that spins before it sleeps ([`Pool::await_push`]) stays
//! counted active throughout and looks at the list again under the lock before it enters
//! `asleep`, so a push during its spin (which wakes nobody) is seen either way; the push count it
//! watches only ends the spin early. A worker whose timed sleep (`KEEP`) ends takes itself out of
//! `asleep` under the lock unless someone took it out first (then it was counted active for it).
//! The stall check is a heuristic over plain atomics: at worst it wakes one worker too many or
//! one `STALL` late; it never strands work, since a push with nobody active always wakes or
//! starts one.
//!
//! Requests the readiness set gives back (`park.rs`: `Pool::requeue`) are added to the list the
//! same way ([`Pool::hand_off`]); since a pool whose stream requests were all parked at submission
//! may have no worker yet, the helper is then also asked for one when nobody would look.

use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use super::{Host, Pool, Worker};
use crate::engine::request::{Completion, List, ReqPtr};
use crate::errno::Errno;
use crate::sys::{self, Doorbell, Guard};

/// The work list and who will look at it, under one lock, so that a push knows whether it must
/// wake anyone (see the module documentation).
pub(super) struct Work {
    pub(super) list: List,
    /// Workers that will look at the list again without being woken.
    pub(super) active: u32,
    /// Sleeping workers (bit w: worker w).
    pub(super) asleep: u64,
}

impl Work {
    /// Chooses a sleeping worker to wake if nobody active will look at the list, and counts it
    /// active (see [`Pool::choose`], its caller).
    pub(super) fn wake_one(&mut self) -> Option<usize> {
        if self.active != 0 || self.asleep == 0 || self.list.is_empty() {
            return None;
        }
        let w = self.asleep.trailing_zeros() as usize;
        self.asleep &= !(1 << w);
        self.active += 1;
        Some(w)
    }
}

/// How long queued work may wait behind active workers that finish nothing before another worker
/// is woken or started (see [`Pool::stall_check`]).
pub(super) const STALL: Duration = Duration::from_millis(1);

/// How long a worker that found nothing to do watches for new work before it sleeps (see
/// [`Pool::await_push`]): about what a cross-CPU wake-up costs.
const IDLE_SPIN: Duration = Duration::from_micros(20);

/// A file request that takes less than this is quick: the spins are for such requests (see
/// [`Pool::timed`]).
const QUICK: Duration = Duration::from_micros(20);

/// At most how many completions in a row a worker reports without waking the threads asleep
/// waiting for completions, and for how long after the first of them (see [`Pool::hold_wake`]).
const HOLD_MAX: u32 = 8;
const HOLD_SPAN: Duration = Duration::from_micros(40);

/// The wake-ups one worker holds back (see [`Pool::hold_wake`]): for how many completions, and
/// since when (the start of the first one's request); and when its last file request ended, while
/// it goes straight on to the next (see [`Pool::started`]).
#[derive(Default)]
pub(super) struct HeldWakes {
    n: u32,
    since: Duration,
    ended: Duration,
}

impl HeldWakes {
    /// The worker found the work list empty: whether any wake-up is held back. Its next request
    /// does not start where the last one ended (it spins, sleeps or wakes others first).
    pub(super) fn list_empty(&mut self) -> bool {
        self.ended = Duration::ZERO;
        self.n > 0
    }
}

/// How many idle periods sleep without spinning after a spin that saw nothing (here and in a
/// waiter's spin, `wait::spin`): a spin that fails costs up to 20 µs, one that succeeds saves
/// about as much, so on a machine where they keep failing the cost stays a small fraction.
pub(crate) const SPIN_SKIP: u32 = 8;

/// Threads of the process spinning now (waiters and idle workers), see [`spin_slot`].
static SPINNING: AtomicU32 = AtomicU32::new(0);

/// How many CPUs the process may run on (asked once; a thread pinned alone answers for the
/// process, which only makes the spins rarer). Async-signal-safe.
pub(crate) fn cpus() -> u32 {
    static CPUS: AtomicU32 = AtomicU32::new(0);
    let mut n = CPUS.load(Relaxed);
    if n == 0 {
        n = sys::cpus_allowed().min(u32::MAX as usize) as u32;
        CPUS.store(n, Relaxed);
    }
    n
}

/// Spins for up to `d` or until `done()` says so, holding one of the process's spinning slots
/// ([`spin_slot`]): Some(whether `done()` said so), or None without spinning at all (one CPU
/// only, whose other thread could not run meanwhile, or every slot taken). The one spin loop of
/// the waiters (`wait::spin`) and the idle workers ([`Pool::await_push`]). Async-signal-safe.
pub(crate) fn spin_for(d: Duration, mut done: impl FnMut() -> bool) -> Option<bool> {
    let cpus = cpus();
    if cpus < 2 || !spin_slot(cpus) {
        return None;
    }
    let end = sys::now().saturating_add(d);
    let seen = loop {
        for _ in 0..32 {
            core::hint::spin_loop();
        }
        if done() {
            break true;
        }
        if sys::now() >= end {
            break false;
        }
    };
    spin_done();
    Some(seen)
}

/// Takes one of the `cpus` spinning slots of the process, if one is free (the caller calls
/// [`spin_done`] when it stops): never more spinners than CPUs (two threads and their two
/// workers at depth 1 on two CPUs would otherwise spin four at a time, each while the thread it
/// waits for cannot run). Not `cpus - 1`: at depth 1 a worker that has just completed a request
/// looks for a slot while its waiter, which is about to see the completion, still holds one.
/// Async-signal-safe. (A fork child can inherit the slot of a thread that spun in the parent:
/// it then spins a little less.)
fn spin_slot(cpus: u32) -> bool {
    if SPINNING.fetch_add(1, Relaxed) < cpus {
        return true;
    }
    SPINNING.fetch_sub(1, Relaxed);
    false
}

/// Gives back a slot taken by [`spin_slot`].
fn spin_done() {
    SPINNING.fetch_sub(1, Relaxed);
}

/// What [`Pool::push`] did with the work it was given.
#[must_use]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pushed {
    /// Nothing queued: the work lock was busy and the caller would not wait for it.
    Busy,
    /// Queued, and a worker will look at it (woken, active, or asleep and to be woken).
    Attended,
    /// Queued, but no worker will look at it: the pool has none running or to wake; the pusher
    /// starts one (`Pool::grow`) or asks the helper to.
    Unattended,
}

impl Pool {
    /// Whether the pool has a worker, running or starting (workers never exit).
    pub(crate) fn has_worker(&self) -> bool {
        self.count.load(Acquire) + self.starting.load(Acquire) > 0
    }

    /// Makes sure the pool has a worker (started now if it has none); EAGAIN if none can be
    /// started. Not async-signal-safe.
    pub(crate) fn ensure_worker(&'static self, host: Host) -> Result<(), Errno> {
        if self.has_worker() || self.start_one(host, true) {
            Ok(())
        } else {
            Err(Errno::EAGAIN)
        }
    }

    /// Under the work lock (`g`): chooses a sleeping worker to wake ([`Work::wake_one`]; with
    /// `force`, even if one is active), counts it active and sets its wake word, all in one
    /// critical section, so a worker whose timed sleep ends and that finds the word still 0
    /// under the lock knows nobody chose it. The caller wakes it ([`Pool::wake`]) after letting
    /// go of the lock.
    pub(super) fn choose(&self, g: &mut Work, force: bool) -> Option<usize> {
        let w = if force && g.asleep != 0 && !g.list.is_empty() {
            let w = g.asleep.trailing_zeros() as usize;
            g.asleep &= !(1 << w);
            g.active += 1;
            Some(w)
        } else {
            g.wake_one()
        }?;
        self.workers[w].wake.store(1, Release);
        Some(w)
    }

    /// After work was added to the list under `g`: wakes one sleeping worker if no worker is active
    /// (none while a worker will look at the list anyway); if every active worker is inside a
    /// request, arms the stall check (through `helper`), in case they block. Says whether a
    /// worker will look at the list, judged under the same lock, so that the pusher need not take
    /// it again to decide whether to start one. Async-signal-safe.
    pub(super) fn hand_off(&self, mut g: Guard<'_, Work>, helper: &Doorbell) -> Pushed {
        self.pushes.fetch_add(1, Release);
        let wake = self.choose(&mut g, false);
        // Behind active workers that are all inside a request (none about to look at the list):
        // one of them may be stuck there.
        let behind = wake.is_none() && g.active > 0 && self.running.load(Acquire) >= g.active;
        // Nobody woken, active or asleep: no worker will look at the list (an active worker looks
        // at it under this lock before it sleeps, so one that is active now will see the work).
        let unattended = wake.is_none() && g.active == 0 && g.asleep == 0 && !g.list.is_empty();
        drop(g);
        if let Some(w) = wake {
            self.wake(w);
        } else if behind {
            self.arm_stall(helper);
        }
        if unattended {
            Pushed::Unattended
        } else {
            Pushed::Attended
        }
    }

    /// A worker that found the list empty watches for new work for up to `IDLE_SPIN` before it
    /// sleeps: returns when a hand-off happened since `seen` (the count read under the work lock
    /// with the list empty) or the time is up; the caller then looks at the list again, under
    /// the lock. It stays counted active meanwhile, so a push wakes nobody and pays no system
    /// call, and the worker takes the request without a wake-up: a program that submits its next
    /// request when the last completes (one request in flight) gets it started at once, where
    /// each request otherwise cost a `futex` wake-up and a cross-CPU wake-up latency (~12 µs). Not
    /// when the pool may run on one CPU only (`Pool::spin`): the submitter could not run
    /// meanwhile.
    ///
    /// A spin that saw nothing (the submitter did not come back in time: it waits for something
    /// else, or it shares this worker's CPU on a loaded machine) makes the pool's next
    /// `SPIN_SKIP` idle workers sleep at once.
    pub(super) fn await_push(&self, seen: u32) {
        let skip = self.spin_skip.load(Relaxed);
        if skip > 0 {
            self.spin_skip.store(skip - 1, Relaxed);
            return;
        }
        if spin_for(IDLE_SPIN, || self.pushes.load(Acquire) != seen) == Some(false) {
            self.spin_skip.store(SPIN_SKIP, Relaxed);
        }
    }

    /// Records how long a file request that started at `t0` took, and says whether it was quick
    /// (under `QUICK`): only then is a spin worth it, for the worker going idle after it
    /// ([`Pool::await_push`]) and for a waiter of this pool's requests ([`Pool::quick`]). An
    /// O_DIRECT transfer, an fsync or a read that misses the page cache takes far longer than
    /// the spin, and spinning through them took CPU time the program's threads needed.
    pub(super) fn timed(&self, h: &mut HeldWakes, t0: Duration) -> bool {
        h.ended = sys::now();
        let quick = h.ended.saturating_sub(t0) < QUICK;
        if (self.quick.load(Relaxed) != 0) != quick {
            self.quick.store(quick as u32, Relaxed);
        }
        quick
    }

    /// When a request a worker took starts, for [`Pool::timed`] and the check of its held file
    /// (`sys::held_ok_recent`): a file's request, where the worker may spin; otherwise zero
    /// (not timed). The end of the worker's last request if it came straight from there (taken
    /// off the list right after it was reported: one clock read per request rather than two, 60
    /// ns each on the loaded reference VM); else now.
    pub(super) fn started(&self, h: &mut HeldWakes, file: bool) -> Duration {
        let ended = core::mem::take(&mut h.ended);
        match file && self.spin() {
            false => Duration::ZERO,
            true if ended != Duration::ZERO => ended,
            true => sys::now(),
        }
    }

    /// Whether an idle worker may spin before it sleeps: more than one CPU to run on.
    pub(super) fn spin(&self) -> bool {
        cpus() > 1
    }

    /// Whether the last file request a worker of this pool ran was quick (see [`Pool::timed`]).
    pub(crate) fn quick(&self) -> bool {
        self.quick.load(Relaxed) != 0
    }

    /// Whether the worker may report the completion of the quick file request it ran (started at
    /// `t0`) without waking the threads asleep waiting for completions, because it took that
    /// request with more work queued behind it (`more`): it wakes them when it has held back
    /// `HOLD_MAX` completions, when `HOLD_SPAN` has passed since the first of them started, before
    /// it runs a request with nothing queued behind it or one that is not a regular file's read
    /// or write, and before it looks for work it may not find ([`Pool::wake_held`]); the queue's
    /// helper wakes them too if the worker is stuck meanwhile (the stall check is armed whenever
    /// a worker takes a request with work behind it, and the helper looks at [`Pool::holding`]
    /// when it runs). A status is published at once either way (a waiter that looks, or spins,
    /// sees it; a signal or callback is sent at once): only the `futex` wake-up waits. Never when
    /// the pool may run on one CPU only (its requests are not timed then, see [`Pool::timed`]).
    ///
    /// Measured with fio's posixaio loop (buffered random writes at depth 32, 2 CPUs shared with
    /// other work): a wake-up per completion woke the submitting thread about once every five
    /// requests, often onto the worker's CPU, where the two then took turns; a thread woken after
    /// a few completions finds them all done and has that many to resubmit.
    pub(super) fn hold_wake(&self, h: &mut HeldWakes, more: bool, quick: bool, t0: Duration) -> bool {
        if !more || !quick || h.n >= HOLD_MAX || (h.n > 0 && t0.saturating_sub(h.since) >= HOLD_SPAN) {
            if h.n > 0 {
                // This completion wakes them (and wakes for those held back before it).
                h.n = 0;
                self.holding.fetch_sub(1, AcqRel);
            }
            return false;
        }
        if h.n == 0 {
            h.since = t0;
            self.holding.fetch_add(1, AcqRel);
        }
        h.n += 1;
        true
    }

    /// Wakes the threads asleep waiting for completions if the worker held back their wake-ups
    /// (see [`Pool::hold_wake`]).
    pub(super) fn wake_held(&self, h: &mut HeldWakes, host: Host) {
        if h.n == 0 {
            return;
        }
        h.n = 0;
        self.holding.fetch_sub(1, AcqRel);
        host.sink.wake_waiters(host.queue);
    }

    /// Reports request `r`, which worker `me` ran to `res`, with its waiters' wake-up or, with
    /// `hold`, without (see [`Pool::hold_wake`]).
    pub(super) fn report(&self, host: Host, me: &Worker, r: ReqPtr, res: isize, hold: bool) {
        host.sink.worker_done(r, res, !hold);
        self.progress.fetch_add(1, Release);
        // After the request was published (and its waiters told): `aio_cancel(fd, NULL)` may
        // wait for this (see `take_polling_on_fd`).
        me.done.fetch_add(1, AcqRel);
        if !hold {
            host.sink.complete(Completion::Internal);
        }
    }

    /// Before a worker runs a request: wakes the sleepers whose wake-ups it holds back unless the
    /// request is a regular file's read or write with more work behind it (`go_on`).
    pub(super) fn before_run(&self, h: &mut HeldWakes, host: Host, go_on: bool) {
        if !go_on {
            self.wake_held(h, host);
        }
    }

    /// Whether a worker holds back wake-ups (the helper then wakes the sleepers itself).
    pub(crate) fn holding(&self) -> bool {
        self.holding.load(Acquire) != 0
    }

    /// Wakes worker `w`, chosen by [`Pool::choose`]. Async-signal-safe.
    pub(super) fn wake(&self, w: usize) {
        sys::futex_wake(&self.workers[w].wake, 1);
    }

    /// Arms the stall check (see the module documentation): a worker took a request with more
    /// work queued behind it. Once until the helper ran the check: one doorbell per `STALL` at
    /// most while a stream of requests keeps the pool busy.
    pub(super) fn arm_stall(&self, helper: &Doorbell) {
        if self.stall.load(Acquire) != 0 {
            return;
        }
        self.stall_mark.store(self.progress.load(Acquire), Relaxed);
        self.stall_at.store(sys::now().as_nanos() as u64, Relaxed);
        if self.stall.swap(1, AcqRel) == 0 {
            helper.ring();
        }
    }

    /// The helper's stall check: None if none is armed, or it was due and was made now (then, if
    /// no request finished since it was armed and work is still queued, a sleeping worker was
    /// woken, or a new one started); otherwise how long until it is due (also when requests did
    /// finish but work still waits behind workers that are all inside a request: it is armed
    /// again). Not async-signal-safe.
    pub(crate) fn stall_check(&'static self, host: Host) -> Option<Duration> {
        if self.stall.load(Acquire) == 0 {
            return None;
        }
        let due = Duration::from_nanos(self.stall_at.load(Relaxed)) + STALL;
        let now = sys::now();
        if now < due {
            return Some(due - now);
        }
        let progress = self.progress.load(Acquire);
        let stuck = progress == self.stall_mark.load(Relaxed);
        self.stall.store(0, Release);
        let mut g = self.work.lock();
        if g.list.is_empty() {
            return None;
        }
        if !stuck {
            // Progress, but work still waits: look again in `STALL` if every active worker is
            // inside a request (the work may be queued behind one that is stuck now).
            if g.active > 0 && self.running.load(Acquire) >= g.active {
                drop(g);
                self.stall_mark.store(progress, Relaxed);
                self.stall_at.store(sys::now().as_nanos() as u64, Relaxed);
                self.stall.store(1, Release);
                return Some(STALL);
            }
            return None;
        }
        // Another worker although one is active: that one is stuck.
        let chosen = self.choose(&mut g, true);
        drop(g);
        match chosen {
            Some(w) => self.wake(w),
            None => {
                self.start_one(host, false);
            }
        }
        None
    }

    /// A worker about to wait on a stream (it will not look at the work list for a while): it no
    /// longer counts as active, and work queued behind it goes to a sleeping worker, or a new one.
    pub(super) fn step_aside(&self, helper: &Doorbell) {
        let mut g = self.work.lock();
        g.active -= 1;
        self.running.fetch_sub(1, AcqRel);
        let wake = self.choose(&mut g, false);
        drop(g);
        match wake {
            Some(w) => self.wake(w),
            None => self.want_worker(helper),
        }
    }

    /// The worker is back from its wait on a stream.
    pub(super) fn step_back(&self) {
        let mut g = self.work.lock();
        g.active += 1;
        self.running.fetch_add(1, AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Aiocb;
    use crate::engine::request::ReqPtr;

    /// A push wakes one sleeping worker, and only while no worker is active (an active one looks
    /// at the list again by itself); the worker chosen counts as active at once, so the next push
    /// wakes nobody.
    #[test]
    fn a_push_wakes_one_sleeper_only_when_nobody_is_active() {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        let mut a = Box::new(unsafe { core::mem::zeroed::<Aiocb>() });
        let mut w = Work { list: List::new(), active: 1, asleep: 0b110 };
        assert_eq!(w.wake_one(), None, "nothing queued");
        // SAFETY: the box is live for the whole test and in no other list.
        unsafe { w.list.push_back(ReqPtr::new(&mut *a).unwrap()) };
        assert_eq!(w.wake_one(), None, "a worker is active: it will look");
        w.active = 0;
        assert_eq!(w.wake_one(), Some(1));
        assert_eq!((w.active, w.asleep), (1, 0b100));
        assert_eq!(w.wake_one(), None, "the one woken counts as active");
        w.active = 0;
        assert_eq!(w.wake_one(), Some(2));
        w.active = 0;
        assert_eq!(w.wake_one(), None, "nobody asleep: the caller must start one");
        w.list.pop_front();
    }

    /// A worker holds back the wake-ups of at most `HOLD_MAX` quick completions in a row, taken
    /// with work behind them and started within `HOLD_SPAN` of the first; the completion that
    /// ends a run wakes for all of them (nothing left held), and `holding` says whether any
    /// worker still holds some.
    #[test]
    fn a_worker_holds_back_a_few_wake_ups_only_with_work_behind() {
        let p = Pool::new(1);
        let mut h = HeldWakes::default();
        let t = Duration::from_micros(1000);
        assert!(!p.hold_wake(&mut h, false, true, t), "nothing behind it: wake");
        assert!(!p.hold_wake(&mut h, true, false, t), "not quick: wake");
        assert!(!h.list_empty() && !p.holding());
        for i in 0..HOLD_MAX {
            assert!(p.hold_wake(&mut h, true, true, t + Duration::from_micros(i as u64)), "held {i}");
            assert!(h.list_empty() && p.holding());
        }
        assert!(!p.hold_wake(&mut h, true, true, t + Duration::from_micros(5)), "HOLD_MAX reached");
        assert!(!h.list_empty() && !p.holding(), "that completion woke for all");
        assert!(p.hold_wake(&mut h, true, true, t));
        assert!(!p.hold_wake(&mut h, true, true, t + HOLD_SPAN), "HOLD_SPAN passed");
        assert!(!h.list_empty() && !p.holding());
        assert!(p.hold_wake(&mut h, true, true, t));
        assert!(!p.hold_wake(&mut h, false, true, t), "nothing behind the next one");
        assert!(!h.list_empty() && !p.holding());
    }

    /// A file request that a worker takes straight after its last one ended starts when that one
    /// ended (one clock read per request); after the list was found empty, or for a stream's
    /// request (not timed), it does not.
    #[test]
    fn a_request_taken_straight_on_starts_when_the_last_one_ended() {
        let p = Pool::new(1);
        let mut h = HeldWakes::default();
        let spin = p.spin();
        let t0 = p.started(&mut h, true);
        assert_eq!(t0.is_zero(), !spin, "timed only where the worker may spin");
        if !spin {
            return;
        }
        assert!(p.timed(&mut h, t0), "quick");
        let ended = h.ended;
        assert!(ended >= t0);
        assert_eq!(p.started(&mut h, true), ended, "straight on: the end of the last one");
        assert!(h.ended.is_zero(), "taken once");
        p.timed(&mut h, ended);
        assert!(p.started(&mut h, false).is_zero(), "a stream's request is not timed");
        p.timed(&mut h, ended);
        assert!(!h.list_empty());
        let t = p.started(&mut h, true);
        assert!(!t.is_zero() && t >= ended, "after an empty list: read now");
    }

    /// An idle worker's spin ends at once when work was handed off since it looked; one that saw
    /// nothing makes the next `SPIN_SKIP` idle periods skip theirs. Never more spinners than CPUs.
    #[test]
    fn an_idle_spin_that_sees_nothing_makes_the_next_ones_skip() {
        if cpus() < 2 {
            return; // one CPU: nobody spins (see `spin_for`)
        }
        let p = Pool::new(1);
        let seen = p.pushes.load(Relaxed);
        p.pushes.fetch_add(1, Relaxed);
        p.await_push(seen);
        assert_eq!(p.spin_skip.load(Relaxed), 0, "a push came: the spin succeeded");
        p.await_push(p.pushes.load(Relaxed));
        assert_eq!(p.spin_skip.load(Relaxed), SPIN_SKIP, "nothing came within IDLE_SPIN");
        for left in (0..SPIN_SKIP).rev() {
            p.await_push(p.pushes.load(Relaxed));
            assert_eq!(p.spin_skip.load(Relaxed), left, "skipped without spinning");
        }
        assert!(spin_slot(u32::MAX));
        spin_done();
        assert!(!spin_slot(0), "no CPU: no slot");
    }
}
