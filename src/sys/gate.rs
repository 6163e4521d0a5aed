//! The fork gate: a fork never happens while another thread is between making (or giving up) a
//! descriptor of ours and recording that, so a fork child finds every descriptor it inherited
//! from us where its handler looks for them, and closes exactly those.
//!
//! # Why
//!
//! A fork child closes what it inherited from the library by what the library recorded: the held
//! duplicates' registry (`held::release_all_inherited`), each `OwnFd`'s number, each ring's
//! number. Making a descriptor and recording it are separate steps (a system call, then stores:
//! `hold` duplicates, then marks the slot live; `OwnFd::ensure_with` makes the file at the lowest
//! free number, moves it high, then stores the number), and so are un-recording and closing
//! (`drop_held` clears the slot, then closes). The `pthread_atfork` handlers' init lock does not
//! cover them: they run on any thread, in any AIO call or on a worker, without it. A fork by
//! another thread between the two steps left the child with a descriptor nothing lists
//! (c-tests/fork_descriptor_churn.c saw it within a few forks in every engine).
//!
//! # How
//!
//! One word, [`GATE`]: the number of threads inside a *section* (from the system call that makes
//! a descriptor, or from the state change before the one that closes it, to the moment it is
//! recorded or closed) and a [`FORKING`] bit. A section is entered with one `fetch_add` and left
//! with one `fetch_sub` ([`section`], [`Section`]'s drop): two uncontended atomic operations next
//! to a system call. The fork's prepare handler, after it took the init lock, sets `FORKING` and
//! waits until the count is 0 ([`close_for_fork`]); the parent's handler clears the bit
//! ([`open_after_fork`]), the child's resets the word ([`reset_in_child`]). A thread whose
//! `fetch_add` finds `FORKING` set takes its count back and waits for the bit to clear before it
//! tries again: it has made nothing yet.
//!
//! The argument: the word has one modification order. Either a section's `fetch_add` comes
//! before the prepare handler's `fetch_or` (then the handler's wait sees the count until that
//! section's `fetch_sub`, whose `Release` publishes the section's stores: the recorded number is
//! in memory when `fork` copies it), or after it (then the thread sees `FORKING` and makes
//! nothing until the parent's handler clears it, after `fork` returned). A section contains only
//! system calls and atomic operations (never a lock, never a wait, never another section), so a
//! thread inside one always leaves it soon without anyone's help; in particular it never waits for
//! the init lock, which the forking thread holds. Two exceptions: `hold` makes a registry chunk
//! inside its section when the new number is the first of its 1024, and `cpus_configured` asks
//! glibc's `sysconf`, which opens a file of /sys and may allocate where it cannot (an allocation,
//! so possibly the allocator's lock). That lock is not ours: glibc's `fork` takes malloc's locks
//! after the prepare handlers, and an allocator's own handler, registered before ours (at its
//! start), runs after ours; at worst the bound below applies.
//!
//! # Bounded, never a deadlock
//!
//! Both waits give up after [`BOUND`] (`sched_yield` between looks): the forking thread may itself
//! be inside a section (a signal handler that forks, having interrupted one), or a signal handler
//! on the forking thread may make or close a descriptor of ours between the prepare and the
//! parent handler (it would wait for a bit only its own thread can clear). Then the prepare
//! handler forks anyway after the bound, or the section starts anyway: the child may inherit that
//! one descriptor unrecorded (as before the gate), and nothing hangs. A section thread preempted
//! for longer than the bound has the same outcome. Every function here is async-signal-safe
//! (atomics, the vDSO clock, `sched_yield`).
//!
//! A fork from a signal handler that interrupted a section of its own thread does not wait for
//! that section (a per-thread count, `MINE`, says how many sections the forking thread is
//! inside): it could never end first. c-tests/fork_in_handler_gate.c measured 40 ms per such fork
//! before (300 forks: 12 s against 0.3 s), and a child that returned from the handler had its
//! word wrap below 0 when the interrupted section ended (`reset_in_child`).

use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use super::thread::yield_now;
use super::time::now;

/// Set while a fork is being prepared or done.
const FORKING: u32 = 1 << 31;
/// How long either side waits for the other at most (see the module documentation).
const BOUND: Duration = Duration::from_millis(50);

/// The count of threads inside a section, and [`FORKING`].
static GATE: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// How many sections this thread is inside (more than one only when a signal handler on it
    /// entered one while the code it interrupted was inside another). Only this thread touches
    /// it; a handler leaves it as it found it.
    static MINE: AtomicU32 = const { AtomicU32::new(0) };
}

/// Inside a section: making or closing a descriptor of ours and recording that (see the module
/// documentation). Left when dropped.
#[must_use]
pub(crate) struct Section(());

impl Drop for Section {
    fn drop(&mut self) {
        GATE.fetch_sub(1, Release);
        MINE.with(|m| m.fetch_sub(1, Relaxed));
    }
}

/// Enters a section, first waiting (at most [`BOUND`]) while a fork is under way. Contains no
/// other section: never call it inside one.
pub(crate) fn section() -> Section {
    MINE.with(|m| m.fetch_add(1, Relaxed));
    let v = GATE.fetch_add(1, Acquire);
    if v & FORKING == 0 {
        return Section(());
    }
    section_slow()
}

#[cold]
fn section_slow() -> Section {
    let start = now();
    loop {
        GATE.fetch_sub(1, Relaxed);
        while GATE.load(Acquire) & FORKING != 0 {
            if now().saturating_sub(start) >= BOUND {
                GATE.fetch_add(1, Acquire);
                return Section(());
            }
            yield_now();
        }
        if GATE.fetch_add(1, Acquire) & FORKING == 0 {
            return Section(());
        }
    }
}

/// The prepare handler's half (after it took the init lock): no new section starts, and those
/// under way are waited for (at most [`BOUND`]).
///
/// The forking thread's own sections (a signal handler that forks, having interrupted one) cannot
/// end before the fork: they are not waited for. The child may inherit the one descriptor such a
/// section was making or closing unrecorded, as after the bound.
pub(crate) fn close_for_fork() {
    let mine = MINE.with(|m| m.load(Relaxed));
    GATE.fetch_or(FORKING, AcqRel);
    if GATE.load(Acquire) & !FORKING <= mine {
        return;
    }
    let start = now();
    while GATE.load(Acquire) & !FORKING > mine && now().saturating_sub(start) < BOUND {
        yield_now();
    }
}

/// The parent handler's half: sections may start again.
pub(crate) fn open_after_fork() {
    GATE.fetch_and(!FORKING, Release);
}

/// The child handler's half: the child is single-threaded; no section of another thread survived.
/// This thread's own (a fork from a signal handler that interrupted one) are still to be left
/// when the handler returns: they stay counted, so that their leaving brings the word to 0 (a
/// word reset to 0 under them would wrap, and set [`FORKING`] for good: every later section of
/// the child would wait out the bound).
pub(crate) fn reset_in_child() {
    GATE.store(MINE.with(|m| m.load(Relaxed)), Release);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// Tests that close the gate run one at a time (the gate is process-wide; other tests' sections
    /// only wait a little while one of these holds it).
    pub(crate) static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A fork waits for a section under way; a section does not start while a fork is under way,
    /// and starts once the parent's handler opens the gate.
    #[test]
    fn fork_and_sections_exclude_each_other() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let s = section();
        let waited = Arc::new(AtomicBool::new(false));
        let w = waited.clone();
        let t = std::thread::spawn(move || {
            let t0 = now();
            close_for_fork();
            w.store(true, SeqCst);
            now() - t0
        });
        let t1 = now();
        std::thread::sleep(Duration::from_millis(5));
        let seen = waited.load(SeqCst);
        // (Unless this thread slept past the bound, under load.)
        assert!(!seen || now() - t1 >= BOUND, "the fork waits while a section is under way");
        drop(s);
        let took = t.join().unwrap();
        assert!(seen || took < BOUND * 2, "and goes on once it is left ({took:?})");
        // Now closed: a section waits until the gate opens.
        let entered = Arc::new(AtomicBool::new(false));
        let e = entered.clone();
        let t = std::thread::spawn(move || {
            let _s = section();
            e.store(true, SeqCst);
        });
        let t1 = now();
        std::thread::sleep(Duration::from_millis(5));
        let seen = entered.load(SeqCst);
        assert!(!seen || now() - t1 >= BOUND, "no section starts during a fork");
        open_after_fork();
        t.join().unwrap();
        assert!(entered.load(SeqCst));
        assert_eq!(GATE.load(SeqCst) & FORKING, 0);
    }

    /// Neither side waits for ever: a fork by a thread that is itself inside a section does not
    /// wait for its own, and a section started by the forking thread between the handlers goes
    /// on after the bound.
    #[test]
    fn waits_are_bounded() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let s = section();
        close_for_fork();
        let t0 = now();
        let inner = section();
        assert!(now() - t0 >= BOUND);
        drop(inner);
        drop(s);
        open_after_fork();
        assert_eq!(GATE.load(SeqCst) & FORKING, 0);
    }

    /// A child forked inside a section of the forking thread keeps it counted: leaving it brings
    /// the word back to 0, not below.
    #[test]
    fn a_child_leaves_its_own_section() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let s = section();
        close_for_fork();
        reset_in_child();
        assert_eq!(GATE.load(SeqCst), 1);
        drop(s);
        assert_eq!(GATE.load(SeqCst), 0);
        assert_eq!(MINE.with(|m| m.load(SeqCst)), 0);
    }
}
