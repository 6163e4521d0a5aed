//! Futexes, and the two things built on them: a lock whose `try_lock`/`unlock` are
//! async-signal-safe, and an event counter.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use super::sleep::SleepCall;
use super::time::timespec;
use crate::errno::Errno;

/// `futex(FUTEX_WAIT_PRIVATE)`: sleeps while `*word == expected`, up to `timeout` (relative).
/// Returns `Err(EINTR)` when a signal handler ran, `Err(EAGAIN)` on timeout or value mismatch.
/// Spurious returns happen: every caller re-checks its condition.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> Result<(), Errno> {
    let ts = timeout.map(timespec);
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, 4-byte aligned u32 for the duration of the call (the kernel only
    // reads it); `tsp` is NULL or points to a timespec on this stack frame.
    let r = unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, expected, tsp)
    };
    if r == 0 {
        return Ok(());
    }
    match Errno::last() {
        Errno::EINTR => Err(Errno::EINTR),
        _ => Err(Errno::EAGAIN),
    }
}

/// `futex(FUTEX_WAKE_PRIVATE)`: wakes up to `n` sleepers on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE uses the address only as a key and reads no memory through it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, n);
    }
}

/// A futex mutex (0 free, 1 held, 2 held with sleepers).
///
/// Unlike `std` and `parking_lot` locks, `try_lock` and `unlock` are async-signal-safe (one CAS, one
/// swap, at most one `futex` system call), which lets the reaping code in `aio_error` and
/// `aio_suspend` use it: those paths only ever `try_lock`, so a signal handler can never wait for a
/// lock that the thread it interrupted holds.
///
/// Correctness: the state only leaves 0 through a successful CAS or swap by the new owner, so one
/// owner at a time. A sleeper first swaps in 2, so an owner that unlocks sees 2 and wakes one; a
/// sleeper woken spuriously or too late re-swaps 2 and re-checks, so no wake-up is lost (the kernel
/// compares the word to 2 atomically with going to sleep).
pub(crate) struct Lock<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one guard at a time, so sharing the lock
// between threads shares the value only with exclusive access (hence `T: Send` suffices).
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: moving the lock moves the value (`T: Send`); the futex word is tied to no thread.
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Lock { state: AtomicU32::new(0), value: UnsafeCell::new(value) }
    }

    pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
        self.state.compare_exchange(0, 1, Acquire, Relaxed).ok().map(|_| Guard { lock: self })
    }

    /// Whether someone holds the lock now (a hint: it may change at once).
    pub(crate) fn is_held(&self) -> bool {
        self.state.load(Relaxed) != 0
    }

    pub(crate) fn lock(&self) -> Guard<'_, T> {
        if self.state.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
            while self.state.swap(2, Acquire) != 0 {
                let _ = futex_wait(&self.state, 2, None);
            }
        }
        Guard { lock: self }
    }

    /// Releases a lock whose guard was forgotten (the fork handlers hold the init lock across
    /// `fork` and release it in both parent and child), waking a waiter as a guard's drop does
    /// (threads that asked for the init lock while the prepare handler held it sleep on it: one
    /// left asleep was never woken, c-tests/fork_descriptor_churn.c).
    ///
    /// # Safety
    /// The lock must be held, by a guard that was forgotten, and nothing else may use that guard.
    pub(crate) unsafe fn force_unlock(&self) {
        if self.state.swap(0, Release) == 2 {
            futex_wake(&self.state, 1);
        }
    }
}

pub(crate) struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while its lock is held (state != 0, set by this guard's
        // acquisition), so no other guard can access the value meanwhile.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held by this guard (see `deref`), and `&mut self` makes this access
        // unique even among users of this guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if self.lock.state.swap(0, Release) == 2 {
            futex_wake(&self.lock.state, 1);
        }
    }
}

/// An event counter: waiters announce themselves, take a ticket, re-check their condition, and
/// sleep until the counter moves; notifiers pay only an atomic load when nobody sleeps, and make
/// the `futex` wake-up call only when a waiter is really asleep on the current value: a burst of
/// notifications before the waiter runs again costs one wake-up, not one each.
///
/// `seq` counts in steps of 2; its low bit ([`ASLEEP`]) says that some waiter is, or is about to
/// be, asleep in the kernel on the current value.
///
/// No wake-up is lost. A waiter increments `sleepers` (SeqCst), then reads `seq` for its ticket
/// (bit cleared), then checks its condition, then sets the bit with a compare-and-swap from its
/// ticket (to `ticket | ASLEEP`, or finds it already set by another waiter on the same value), and
/// sleeps while `seq` equals `ticket | ASLEEP`. A notifier publishes its change, issues a SeqCst
/// fence, and reads `sleepers`; if there are any, it moves `seq` to the next value with the bit
/// cleared (one compare-and-swap loop) and calls `futex` wake only if the value it replaced had
/// the bit. In the single total order of SeqCst operations:
/// * either the notifier's read of `sleepers` comes before the waiter's increment; then the
///   waiter's condition check comes after the fence and sees the change (as in any event count);
/// * or it sees the waiter, and moves `seq`. If that move comes before the waiter's
///   compare-and-swap, the swap fails (or the sleep's comparison does): the waiter does not
///   sleep. If it comes after, the value it replaces carries the bit, so it wakes every sleeper
///   on that value. Every waiter that set or found the bit sleeps on exactly that value, and
///   the bit is cleared only by the move that wakes them.
///
/// A woken (or not yet sleeping) waiter sets the bit again only on a new value, so notifications
/// between its wake-up and its next sleep see the bit clear and make no system call.
pub(crate) struct EventCount {
    seq: AtomicU32,
    sleepers: AtomicU32,
}

/// The low bit of `EventCount::seq`: a waiter sleeps (or is about to) on this value.
const ASLEEP: u32 = 1;

impl Default for EventCount {
    fn default() -> Self {
        Self::new()
    }
}

impl EventCount {
    pub(crate) const fn new() -> Self {
        EventCount { seq: AtomicU32::new(0), sleepers: AtomicU32::new(0) }
    }

    /// Announces a sleeper and returns its ticket; check the condition after this, then `wait`,
    /// then `unprepare`.
    pub(crate) fn prepare(&self) -> u32 {
        self.sleepers.fetch_add(1, SeqCst);
        self.seq.load(SeqCst) & !ASLEEP
    }

    pub(crate) fn unprepare(&self) {
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Marks the ticket's value slept on; returns the value to sleep on (the kernel compares it
    /// with `seq`: if the counter moved meanwhile, the sleep returns at once).
    fn arm(&self, ticket: u32) -> u32 {
        let _ = self.seq.compare_exchange(ticket, ticket | ASLEEP, SeqCst, SeqCst);
        ticket | ASLEEP
    }

    #[cfg(test)]
    pub(crate) fn wait(&self, ticket: u32, timeout: Option<Duration>) -> Result<(), Errno> {
        futex_wait(&self.seq, self.arm(ticket), timeout)
    }

    /// `wait` as a [`SleepCall`] (for a sleep made elsewhere, see `super::sleep`): sleeps while the
    /// counter still shows `ticket`, up to `ts`.
    pub(crate) fn sleep_call(&self, ticket: u32, ts: Option<&libc::timespec>) -> SleepCall {
        SleepCall::futex_wait(&self.seq, self.arm(ticket), ts)
    }

    /// Call after publishing the change the sleepers wait for.
    pub(crate) fn notify_all(&self) {
        core::sync::atomic::fence(SeqCst);
        if self.sleepers.load(SeqCst) != 0 {
            let mut cur = self.seq.load(SeqCst);
            loop {
                let next = (cur & !ASLEEP).wrapping_add(2);
                match self.seq.compare_exchange_weak(cur, next, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(v) => cur = v,
                }
            }
            if cur & ASLEEP != 0 {
                futex_wake(&self.seq, i32::MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lock_excludes() {
        let l = Arc::new(Lock::new(0u64));
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *l.lock() += 1;
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(*l.lock(), 80_000);
        assert!(l.try_lock().is_some());
        let g = l.lock();
        assert!(l.try_lock().is_none());
        drop(g);
    }

    /// The sleep bit: set by a waiter about to sleep on the current value (not on a stale
    /// ticket), cleared by the notification that wakes it; a notification with nobody asleep
    /// moves the counter without setting it.
    #[test]
    fn event_count_marks_only_real_sleepers() {
        let ev = EventCount::new();
        let t = ev.prepare();
        ev.notify_all();
        let moved = ev.seq.load(SeqCst);
        assert!(moved != t && moved & ASLEEP == 0, "moved, nobody asleep");
        assert_eq!(ev.wait(t, Some(Duration::from_secs(5))), Err(Errno::EAGAIN), "a stale ticket does not sleep");
        assert_eq!(ev.seq.load(SeqCst), moved, "nor marks the new value");
        ev.unprepare();
        let t = ev.prepare();
        assert_eq!(ev.arm(t), t | ASLEEP);
        assert_eq!(ev.arm(t), t | ASLEEP, "a second waiter on the same value finds it marked");
        ev.notify_all();
        assert_eq!(ev.seq.load(SeqCst), t.wrapping_add(2), "the wake-up clears the bit");
        ev.unprepare();
    }

    /// Several waiters on one counter, each woken by every round's notification: a lost wake-up
    /// hangs the test (and it times out).
    #[test]
    fn event_count_wakes_every_sleeper() {
        let ev = Arc::new((EventCount::new(), AtomicU32::new(0)));
        let rounds = 2_000;
        let ts: Vec<_> = (0..3)
            .map(|_| {
                let ev = ev.clone();
                std::thread::spawn(move || {
                    for i in 1..=rounds {
                        loop {
                            let t = ev.0.prepare();
                            if ev.1.load(SeqCst) >= i {
                                ev.0.unprepare();
                                break;
                            }
                            let _ = ev.0.wait(t, Some(Duration::from_secs(10)));
                            ev.0.unprepare();
                        }
                    }
                })
            })
            .collect();
        for i in 1..=rounds {
            ev.1.store(i, SeqCst);
            ev.0.notify_all();
            if i % 64 == 0 {
                std::thread::yield_now();
            }
        }
        for t in ts {
            t.join().unwrap();
        }
    }

    /// A ping-pong of 20,000 rounds through two event counters hangs (and the test times out)
    /// if a wake-up is ever lost.
    #[test]
    fn event_count_loses_no_wakeup() {
        let ev = Arc::new((EventCount::new(), AtomicU32::new(0), EventCount::new(), AtomicU32::new(0)));
        let e2 = ev.clone();
        let rounds = 20_000;
        let t = std::thread::spawn(move || {
            for i in 1..=rounds {
                loop {
                    let t = e2.0.prepare();
                    let seen = e2.1.load(SeqCst);
                    if seen >= i {
                        e2.0.unprepare();
                        break;
                    }
                    let _ = e2.0.wait(t, Some(Duration::from_secs(10)));
                    e2.0.unprepare();
                }
                e2.3.store(i, SeqCst);
                e2.2.notify_all();
            }
        });
        for i in 1..=rounds {
            ev.1.store(i, SeqCst);
            ev.0.notify_all();
            let start = crate::sys::now();
            loop {
                let t = ev.2.prepare();
                if ev.3.load(SeqCst) >= i {
                    ev.2.unprepare();
                    break;
                }
                let _ = ev.2.wait(t, Some(Duration::from_secs(10)));
                ev.2.unprepare();
                assert!(crate::sys::now() - start < Duration::from_secs(10), "lost wake-up at round {i}");
            }
        }
        t.join().unwrap();
    }
}
