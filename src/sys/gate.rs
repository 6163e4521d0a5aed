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
//! # Never a deadlock: who does not wait, and the bound
//!
//! The waits that could never end are not made:
//! * A fork from a signal handler that interrupted a section of its own thread does not wait for
//!   that section (a per-thread count, `MINE`, says how many sections the forking thread is
//!   inside): it could never end first. c-tests/fork_in_handler_gate.c measured 40 ms per such
//!   fork when it waited (300 forks: 12 s against 0.3 s), and a child that returned from the
//!   handler had its word wrap below 0 when the interrupted section ended (`reset_in_child`).
//! * A section started by the forking thread between the prepare and the parent handler (a
//!   signal handler's AIO call there) does not wait for the bit only its own thread clears
//!   (`FORKER`); the child may inherit that one descriptor unrecorded (as before the gate).
//! * A section started inside another section of the same thread (a signal handler's AIO call
//!   that interrupted one) does not wait either: the outer one is counted, so a fork's prepare
//!   handler is still waiting for it, and it waits for this one too before it forks.
//!
//! What is left is a section thread that cannot run: preempted (on a loaded machine a thread of
//! a `nice`d process waits for the CPU far longer than any system call takes), stopped in a slow
//! system call (a `close` that flushes a network file), or waiting for a lock that another
//! library's prepare handler took before ours ran (an allocator's, inside `hold`'s chunk or
//! `sysconf`). The first only needs time; the others may never end before the fork. So both
//! waits give up after [`BOUND`], long enough for a starved thread (the fork then forks anyway,
//! or the section starts anyway: the child may inherit that one descriptor unrecorded, and
//! nothing hangs). They were bounded at 50 ms once: run under `nice -n 19` at load 4 to 11,
//! c-tests/fork_descriptor_churn.c failed 23 runs of 475 that way, a descriptor made or
//! closed by a section thread preempted for longer (or by one that gave up waiting for a forking
//! thread preempted for longer) left open in a child. Each waiter yields the CPU for the first
//! [`SPIN`] of its wait, then sleeps [`NAP`] between looks, so that the thread it waits for can
//! run on its CPU. Every function here is async-signal-safe (atomics, the vDSO clock,
//! `sched_yield`, `ppoll` by system call).

use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use super::thread::yield_now;
use super::time::now;

/// Set while a fork is being prepared or done.
const FORKING: u32 = 1 << 31;
/// How long either side waits for the other at most (see the module documentation).
const BOUND: Duration = Duration::from_secs(1);
/// How long a waiter yields the CPU between looks before it sleeps between them.
const SPIN: Duration = Duration::from_millis(1);
/// How long a waiter sleeps between looks after [`SPIN`].
const NAP: Duration = Duration::from_micros(200);

/// The count of threads inside a section, and [`FORKING`].
static GATE: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// How many sections this thread is inside (more than one only when a signal handler on it
    /// entered one while the code it interrupted was inside another). Only this thread touches
    /// it; a handler leaves it as it found it.
    static MINE: AtomicU32 = const { AtomicU32::new(0) };
    /// Non-zero on the thread whose fork is under way, from its prepare handler to its parent's
    /// or child's (only this thread touches it).
    static FORKER: AtomicU32 = const { AtomicU32::new(0) };
}

/// One pause between two looks of a wait that started at `start` (see the module documentation).
fn pause(start: Duration) {
    if now().saturating_sub(start) < SPIN {
        yield_now();
    } else {
        // The library's own timed sleep (`ppoll` on nothing; not a cancellation point). An
        // interruption (EINTR) only ends this pause early.
        let mut ts = super::time::timespec(NAP);
        // SAFETY: no descriptors; `ts` is a live local for the call, which writes only it.
        let _ = unsafe { super::sleep::SleepCall::poll(&mut [], Some(&mut ts)).run() };
    }
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
/// other section: never call it inside one (a signal handler's section inside the section its
/// thread was in is the one exception, see the module documentation).
pub(crate) fn section() -> Section {
    let outer = MINE.with(|m| m.fetch_add(1, Relaxed));
    let v = GATE.fetch_add(1, Acquire);
    if v & FORKING == 0 {
        return Section(());
    }
    section_slow(outer)
}

/// [`section`] when a fork is under way; `outer`: how many sections this thread was inside.
#[cold]
fn section_slow(outer: u32) -> Section {
    // The forking thread itself, or a section that a fork is waiting for already: waiting here
    // could never end (see the module documentation). Counted, it is waited for when it can be.
    if outer != 0 || FORKER.with(|f| f.load(Relaxed)) != 0 {
        return Section(());
    }
    let start = now();
    loop {
        // Not inside a section while it waits: not counted, and not this thread's (a signal
        // handler's section meanwhile is no nested one: it waits too; a fork by a handler waits
        // for the other threads' sections, not for this one).
        GATE.fetch_sub(1, Relaxed);
        MINE.with(|m| m.fetch_sub(1, Relaxed));
        while GATE.load(Acquire) & FORKING != 0 {
            if now().saturating_sub(start) >= BOUND {
                break;
            }
            pause(start);
        }
        MINE.with(|m| m.fetch_add(1, Relaxed));
        if GATE.fetch_add(1, Acquire) & FORKING == 0 || now().saturating_sub(start) >= BOUND {
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
    FORKER.with(|f| f.store(1, Relaxed));
    let mine = MINE.with(|m| m.load(Relaxed));
    GATE.fetch_or(FORKING, AcqRel);
    if GATE.load(Acquire) & !FORKING <= mine {
        return;
    }
    let start = now();
    while GATE.load(Acquire) & !FORKING > mine && now().saturating_sub(start) < BOUND {
        pause(start);
    }
}

/// The parent handler's half: sections may start again.
pub(crate) fn open_after_fork() {
    GATE.fetch_and(!FORKING, Release);
    FORKER.with(|f| f.store(0, Relaxed));
}

/// The child handler's half: the child is single-threaded; no section of another thread survived.
/// This thread's own (a fork from a signal handler that interrupted one) are still to be left
/// when the handler returns: they stay counted, so that their leaving brings the word to 0 (a
/// word reset to 0 under them would wrap, and set [`FORKING`] for good: every later section of
/// the child would wait out the bound).
pub(crate) fn reset_in_child() {
    GATE.store(MINE.with(|m| m.load(Relaxed)), Release);
    FORKER.with(|f| f.store(0, Relaxed));
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

    /// The waits that could never end are not made: a fork by a thread that is itself inside a
    /// section does not wait for its own, and a section started by the forking thread between
    /// the handlers starts at once.
    #[test]
    fn the_forking_thread_waits_for_nothing_of_its_own() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let t0 = now();
        let s = section();
        close_for_fork();
        let inner = section();
        assert!(now() - t0 < BOUND, "neither waited ({:?})", now() - t0);
        drop(inner);
        drop(s);
        open_after_fork();
        assert_eq!(GATE.load(SeqCst), 0);
        assert_eq!(FORKER.with(|f| f.load(SeqCst)), 0);
    }

    /// A fork waits for a section whose thread is held up far longer than any system call takes
    /// (here 200 ms: a preempted thread of a loaded machine), not only for 50 ms as it did: a
    /// fork then gave its child the descriptor that section was making.
    #[test]
    fn a_fork_waits_for_a_section_held_up() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let s = section();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            let left = now();
            drop(s);
            left
        });
        rx.recv().unwrap();
        close_for_fork();
        let forked = now();
        open_after_fork();
        let left = t.join().unwrap();
        assert!(forked >= left, "the fork went on {:?} before the section ended", left - forked);
    }

    /// A section waits for a fork whose thread is held up between the handlers for 200 ms, not
    /// only for 50 ms as it did: it then made a descriptor the child could inherit.
    #[test]
    fn a_section_waits_for_a_fork_held_up() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        close_for_fork();
        let t = std::thread::spawn(|| {
            let s = section();
            let entered = now();
            drop(s);
            entered
        });
        std::thread::sleep(Duration::from_millis(200));
        let opened = now();
        open_after_fork();
        let entered = t.join().unwrap();
        assert!(entered >= opened, "the section started {:?} before the fork ended", opened - entered);
    }

    /// A section started inside a section of the same thread (a signal handler's, in the code) while
    /// a fork waits for the outer one starts at once, and the fork waits for both.
    #[test]
    fn a_nested_section_does_not_wait_for_the_fork_waiting_for_it() {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let outer = section();
        let fork = std::thread::spawn(|| {
            close_for_fork();
            let forked = now();
            open_after_fork();
            forked
        });
        // Until the fork has closed the gate (the inner section would not wait for it otherwise).
        while GATE.load(SeqCst) & FORKING == 0 {
            yield_now();
        }
        let t0 = now();
        let inner = section();
        let took = now() - t0;
        assert!(took < BOUND, "the inner section waited {took:?}");
        std::thread::sleep(Duration::from_millis(20));
        let left = now();
        drop(inner);
        drop(outer);
        let forked = fork.join().unwrap();
        assert!(forked >= left, "the fork waited for both sections");
        assert_eq!(GATE.load(SeqCst), 0);
    }

    /// A signal handler's section on a thread that is waiting to enter one (not inside it yet)
    /// waits for the fork too: the waiting thread is not counted, so nothing else keeps the fork
    /// from going on while the handler makes its descriptor.
    #[test]
    fn a_handler_interrupting_a_wait_to_enter_waits_too() {
        use std::sync::atomic::AtomicU64;
        static HANDLER_ENTERED: AtomicU64 = AtomicU64::new(0);
        extern "C" fn handler(_: libc::c_int) {
            let s = section();
            HANDLER_ENTERED.store(now().as_nanos() as u64, SeqCst);
            drop(s);
        }
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: installs a handler (plain function, async-signal-safe body) for SIGUSR2, which
        // no other test uses; restored below.
        let old = unsafe { libc::signal(libc::SIGUSR2, handler as *const () as usize) };
        close_for_fork();
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let t = std::thread::spawn(move || {
            w.store(true, SeqCst);
            let s = section();
            drop(s);
        });
        let tid = std::os::unix::thread::JoinHandleExt::as_pthread_t(&t);
        while !waiting.load(SeqCst) {
            yield_now();
        }
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: signals a live thread of this process; the handler is installed.
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR2) }, 0);
        std::thread::sleep(Duration::from_millis(100));
        let opened = now().as_nanos() as u64;
        open_after_fork();
        t.join().unwrap();
        // SAFETY: restores the disposition saved above.
        unsafe { libc::signal(libc::SIGUSR2, old) };
        let entered = HANDLER_ENTERED.load(SeqCst);
        assert!(
            entered >= opened,
            "the handler's section started {} us before the fork ended",
            (opened - entered) / 1000
        );
        assert_eq!(GATE.load(SeqCst), 0);
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
