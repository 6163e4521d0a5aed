//! The callback pool: threads named `aio-rs-cb` (default stack, every signal blocked) that run
//! `SIGEV_THREAD` callbacks without attributes. The pool grows on demand while every thread is
//! busy, up to `POOL_CAP` threads at once; beyond that the dispatcher waits for one to go idle,
//! and if none does within `CAPACITY_WAIT` (callbacks that block for long) it starts one more, up
//! to `POOL_MAX`. So a callback that blocks delays the others by at most `CAPACITY_WAIT` each time
//! the pool has to grow, until `POOL_MAX` callbacks block at once.
//!
//! Each thread runs `src/notify/runner.c` (`sys::spawn_runner`): the callback is called from C
//! frames only, so a callback may end its thread with `pthread_exit` (or be cancelled) without
//! unwinding through Rust; the runner's cleanup handler reports the end (`gone`), the slot is
//! marked dead, and the dispatcher starts a new thread in it when one is needed. A thread that
//! could not be created takes no slot.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU32, Ordering};

use super::dispatch::generation;
use super::{CAPACITY_WAIT, POOL_CAP, POOL_MAX};
use crate::abi::SigVal;
use crate::sys::{self, futex_wait, futex_wake, Lock, Runner, ThreadAttr};

// One mailbox slot per thread; the dispatcher is the only writer of items and of SLOT_FULL, the
// thread the only one that moves a slot out of SLOT_FULL. The dispatcher may write the item only
// while the slot is not FULL (thread done with the previous item: its release store of IDLE after
// copying the item pairs with the dispatcher's acquire load); the thread reads the item only once
// it sees FULL (the dispatcher's release swap pairs with the thread's acquire load). A slot's
// thread is `alive` from its creation until its `gone`. `gone` runs while the slot is FULL (the
// callback exited) and first stores DEAD, which is never free, then clears `alive` as its last
// touch of the slot: once `alive` is 0 the dispatcher may start a new thread there and store FULL,
// so nothing of the old thread may store to the slot after that (it once stored IDLE after it,
// over the new thread's FULL, and that thread slept on its first callback for ever). The
// dispatcher reads the state before `alive`, so it never posts to a thread that ended (SeqCst).

const SLOT_IDLE: u32 = 0;
const SLOT_FULL: u32 = 1;
/// Idle and (about to be) asleep on the slot's futex: posting must wake it.
const SLOT_SLEEPING: u32 = 2;
/// The slot's thread is ending (`gone`); the slot is reusable once `alive` is 0.
const SLOT_DEAD: u32 = 3;

#[derive(Clone, Copy)]
pub(super) struct Item {
    pub(super) function: Option<unsafe extern "C" fn(SigVal)>,
    pub(super) value: SigVal,
}

struct Slot {
    state: AtomicU32,
    alive: AtomicU32,
    /// The generation the slot's thread was started in (see `notify`'s fork notes).
    gen: AtomicU32,
    item: UnsafeCell<Item>,
    /// What the slot's C thread body runs; written by the dispatcher before it starts a thread in
    /// the slot (no thread is alive there then), read by that thread.
    runner: UnsafeCell<Runner>,
}

// SAFETY: `item` is accessed under the FULL/IDLE hand-over protocol described above; `runner` is
// written only while no thread uses the slot and read only by the slot's thread after its
// creation (pthread_create orders the two).
unsafe impl Sync for Slot {}

impl Slot {
    const fn new() -> Self {
        Slot {
            state: AtomicU32::new(SLOT_IDLE),
            alive: AtomicU32::new(0),
            gen: AtomicU32::new(0),
            item: UnsafeCell::new(Item { function: None, value: SigVal { sival_int: 0 } }),
            runner: UnsafeCell::new(Runner { name: [0; 16], take, done, gone, ctx: core::ptr::null_mut() }),
        }
    }

    /// Alive and not running a callback (state first: see the protocol above).
    fn is_free(&self) -> bool {
        matches!(self.state.load(Ordering::SeqCst), SLOT_IDLE | SLOT_SLEEPING) && self.alive.load(Ordering::SeqCst) != 0
    }

    /// Dispatcher only, slot not FULL.
    fn post(&self, item: Item) {
        // SAFETY: the slot is not FULL, so its thread no longer reads the item (see protocol).
        unsafe { *self.item.get() = item };
        if self.state.swap(SLOT_FULL, Ordering::SeqCst) == SLOT_SLEEPING {
            futex_wake(&self.state, 1);
        }
    }

    /// The slot's thread only: waits for FULL and copies the item out.
    fn wait_take(&self) -> Item {
        loop {
            match self.state.load(Ordering::Acquire) {
                SLOT_FULL => break,
                SLOT_IDLE => {
                    if self
                        .state
                        .compare_exchange(SLOT_IDLE, SLOT_SLEEPING, Ordering::Acquire, Ordering::Acquire)
                        .is_err()
                    {
                        continue;
                    }
                    let _ = futex_wait(&self.state, SLOT_SLEEPING, None);
                }
                _ => {
                    let _ = futex_wait(&self.state, SLOT_SLEEPING, None);
                }
            }
        }
        // SAFETY: the slot is FULL: the dispatcher finished writing the item (acquire above) and
        // will not touch it until we leave FULL.
        unsafe { *self.item.get() }
    }

    fn ours(&self) -> bool {
        self.gen.load(Ordering::SeqCst) == generation()
    }

    /// The thread is done with its item: the slot is free again; tells a waiting dispatcher.
    fn set_idle(&self) {
        self.state.store(SLOT_IDLE, Ordering::SeqCst);
        tell_dispatcher();
    }
}

/// A thread went idle or ended: wakes the dispatcher if it waits for one (touches no slot).
fn tell_dispatcher() {
    IDLE_SEQ.fetch_add(1, Ordering::SeqCst);
    if DISPATCHER_WAITS_IDLE.load(Ordering::SeqCst) != 0 {
        futex_wake(&IDLE_SEQ, 1);
    }
}

// A const item (not `[const { .. }; N]`) keeps the crate's MSRV; it is only used as an array
// initialiser, never shared.
#[allow(clippy::declare_interior_mutable_const)]
const SLOT_INIT: Slot = Slot::new();
static SLOTS: [Slot; POOL_MAX] = [SLOT_INIT; POOL_MAX];
/// Threads alive in the pool.
static ALIVE: AtomicU32 = AtomicU32::new(0);
/// Serialises starting threads in slots: the dispatcher's, and a submitter's that makes sure the
/// pool has a thread at all ([`ensure_thread`]).
static STARTS: Lock<()> = Lock::new(());
/// Futex word: incremented each time a thread becomes idle or ends.
static IDLE_SEQ: AtomicU32 = AtomicU32::new(0);
/// 1 while the dispatcher waits for an idle thread.
static DISPATCHER_WAITS_IDLE: AtomicU32 = AtomicU32::new(0);

fn slot_of(ctx: *mut c_void) -> &'static Slot {
    // SAFETY: every runner's ctx is the address of its slot in SLOTS (set in `start_in`).
    unsafe { &*(ctx as *const Slot) }
}

/// The runner's `take`: the next callback of this slot; 0 ends the thread (a fork child's copy
/// of a thread that forked from inside a callback: the pool is not its own any more).
extern "C" fn take(ctx: *mut c_void, f: *mut Option<unsafe extern "C" fn(SigVal)>, v: *mut SigVal) -> c_int {
    let slot = slot_of(ctx);
    loop {
        if !slot.ours() {
            return 0;
        }
        let item = slot.wait_take();
        if let Some(function) = item.function {
            // SAFETY: the C runner passes pointers to its two locals.
            unsafe {
                *f = Some(function);
                *v = item.value;
            }
            return 1;
        }
        slot.set_idle();
    }
}

/// The runner's `done`: the callback returned.
extern "C" fn done(ctx: *mut c_void) {
    let slot = slot_of(ctx);
    if slot.ours() {
        slot.set_idle();
    }
}

/// The runner's `gone`: the thread ended (the callback called `pthread_exit`, or was cancelled);
/// the slot is free for a new thread.
extern "C" fn gone(ctx: *mut c_void) {
    let slot = slot_of(ctx);
    if slot.ours() {
        slot.state.store(SLOT_DEAD, Ordering::SeqCst);
        ALIVE.fetch_sub(1, Ordering::SeqCst);
        // The last touch of the slot (see the protocol at the top).
        slot.alive.store(0, Ordering::SeqCst);
        tell_dispatcher();
    }
}

fn free_slot() -> Option<&'static Slot> {
    SLOTS.iter().find(|slot| slot.is_free())
}

/// Starts a thread in slot `i` (dead or never used) with `item` as its first callback. False if
/// the thread could not be created (the slot stays unused).
fn start_in(gen: u32, i: usize, item: Item) -> bool {
    let slot = &SLOTS[i];
    // SAFETY: no thread is alive in the slot: the dispatcher is its only user.
    unsafe {
        *slot.item.get() = item;
        *slot.runner.get() =
            Runner { name: sys::thread_name("aio-rs-cb"), take, done, gone, ctx: slot as *const Slot as *mut c_void };
    }
    slot.gen.store(gen, Ordering::SeqCst);
    slot.state.store(SLOT_FULL, Ordering::SeqCst);
    slot.alive.store(1, Ordering::SeqCst);
    ALIVE.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the runner lives in a static slot (valid forever) and is not written again until
    // its thread's `gone` cleared `alive`.
    if unsafe { sys::spawn_runner(ThreadAttr::Default, slot.runner.get()) }.is_ok() {
        return true;
    }
    slot.alive.store(0, Ordering::SeqCst);
    ALIVE.fetch_sub(1, Ordering::SeqCst);
    slot.state.store(SLOT_IDLE, Ordering::SeqCst);
    false
}

/// Hands `item` to an idle thread, starting one if all are busy and the bounds allow (see the
/// module documentation), otherwise waiting for one to go idle. Dispatcher only.
pub(super) fn post(gen: u32, item: Item) {
    let mut busy_since = None;
    loop {
        let seen = IDLE_SEQ.load(Ordering::SeqCst);
        if let Some(slot) = free_slot() {
            slot.post(item);
            return;
        }
        let alive = ALIVE.load(Ordering::SeqCst) as usize;
        let waited_long = busy_since.is_some_and(|t| sys::now() >= t + CAPACITY_WAIT);
        if alive < POOL_CAP || (waited_long && alive < POOL_MAX) {
            let _g = STARTS.lock();
            let unused = SLOTS.iter().position(|s| s.alive.load(Ordering::SeqCst) == 0);
            if let Some(i) = unused {
                if start_in(gen, i, item) {
                    return;
                }
            }
        }
        busy_since.get_or_insert_with(sys::now);
        // Wait for a thread to go idle or end (or the time to grow). No lost wake-up, by the same
        // argument as `dispatcher_idle_wait` (thread: store IDLE; IDLE_SEQ += 1; load the flag).
        DISPATCHER_WAITS_IDLE.store(1, Ordering::SeqCst);
        if free_slot().is_none() {
            let _ = futex_wait(&IDLE_SEQ, seen, Some(CAPACITY_WAIT));
        }
        DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
    }
}

/// Whether the pool has a thread (one load): a callback posted now is called even if no thread
/// can be created meanwhile (`RLIMIT_NPROC`).
pub(super) fn has_thread() -> bool {
    ALIVE.load(Ordering::SeqCst) != 0
}

/// Makes sure the pool has a thread, started idle now if it has none (at submission of a
/// `SIGEV_THREAD` request: the dispatcher's thread for a callback may not be creatable later,
/// `RLIMIT_NPROC`, and a callback with attributes whose own thread cannot be created falls back
/// to the pool). False if it has none and none can be created: the submission is refused with
/// EAGAIN. Pool threads end only when a callback ends them (`pthread_exit`, cancellation).
pub(super) fn ensure_thread(gen: u32) -> bool {
    if has_thread() {
        return true;
    }
    let _g = STARTS.lock();
    if has_thread() {
        return true;
    }
    let unused = SLOTS.iter().position(|s| s.alive.load(Ordering::SeqCst) == 0);
    // No callback: the thread goes idle at once (`take`).
    unused.is_some_and(|i| start_in(gen, i, Item { function: None, value: SigVal { sival_int: 0 } }))
}

/// The pool's part of `super::after_fork_child`.
pub(super) fn after_fork_child() {
    // SAFETY: in the fork child only the forking thread runs, and it holds no guard of `STARTS`
    // (held only inside `post` and `ensure_thread`, which do not fork); a copy locked by a thread
    // of the parent would never be released otherwise.
    unsafe { STARTS.force_unlock() };
    ALIVE.store(0, Ordering::SeqCst);
    for slot in SLOTS.iter() {
        slot.alive.store(0, Ordering::SeqCst);
        slot.state.store(SLOT_IDLE, Ordering::SeqCst);
    }
    IDLE_SEQ.store(0, Ordering::SeqCst);
    DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
}
