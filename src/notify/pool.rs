//! The callback pool: at most `POOL_CAP` threads named `aio-rs-cb` (default stack, every signal
//! blocked) run `SIGEV_THREAD` callbacks without attributes. The pool grows on demand while every
//! worker is busy; beyond the cap the dispatcher waits for a worker to go idle (the jobs behind it
//! stay queued in the intake list).
//!
//! A callback that blocks until another `SIGEV_THREAD` notification has run can deadlock once
//! `POOL_CAP` such callbacks are waiting: that is the price of never creating unbounded threads.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use super::dispatch::generation;
use super::{CAPACITY_WAIT, POOL_CAP};
use crate::abi::SigVal;
use crate::sys::{self, futex_wait, futex_wake, ThreadAttr};

// One mailbox slot per worker; the dispatcher is the only writer of items and of SLOT_FULL, the
// worker the only one that moves a slot out of SLOT_FULL. The dispatcher may write the item only
// while the slot is not FULL (worker done with the previous item: its release store of IDLE after
// copying the item pairs with the dispatcher's acquire load); the worker reads the item only once
// it sees FULL (the dispatcher's release swap pairs with the worker's acquire load).

const SLOT_IDLE: u32 = 0;
const SLOT_FULL: u32 = 1;
/// Idle and (about to be) asleep on the slot's futex: posting must wake it.
const SLOT_SLEEPING: u32 = 2;

#[derive(Clone, Copy)]
pub(super) struct Item {
    pub(super) function: Option<unsafe extern "C" fn(SigVal)>,
    pub(super) value: SigVal,
}

struct Slot {
    state: AtomicU32,
    item: UnsafeCell<Item>,
}

// SAFETY: `item` is accessed under the FULL/IDLE hand-over protocol described above.
unsafe impl Sync for Slot {}

impl Slot {
    const fn new() -> Self {
        Slot {
            state: AtomicU32::new(SLOT_IDLE),
            item: UnsafeCell::new(Item { function: None, value: SigVal { sival_int: 0 } }),
        }
    }

    fn is_free(&self) -> bool {
        self.state.load(Ordering::SeqCst) != SLOT_FULL
    }

    /// Dispatcher only, slot not FULL.
    fn post(&self, item: Item) {
        // SAFETY: the slot is not FULL, so its worker no longer reads the item (see protocol).
        unsafe { *self.item.get() = item };
        if self.state.swap(SLOT_FULL, Ordering::SeqCst) == SLOT_SLEEPING {
            futex_wake(&self.state, 1);
        }
    }

    /// Worker only: waits for FULL and copies the item out.
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
}

// A const item (not `[const { .. }; N]`) keeps the crate's MSRV; it is only used as an array
// initialiser, never shared.
#[allow(clippy::declare_interior_mutable_const)]
const SLOT_INIT: Slot = Slot::new();
static SLOTS: [Slot; POOL_CAP] = [SLOT_INIT; POOL_CAP];
/// Number of pool workers created (dispatcher-owned; reset after fork).
static SPAWNED: AtomicU32 = AtomicU32::new(0);
/// Futex word: incremented each time a worker becomes idle.
static IDLE_SEQ: AtomicU32 = AtomicU32::new(0);
/// 1 while the dispatcher waits for an idle worker.
static DISPATCHER_WAITS_IDLE: AtomicU32 = AtomicU32::new(0);

fn free_slot(spawned: usize) -> Option<&'static Slot> {
    SLOTS[..spawned].iter().find(|slot| slot.is_free())
}

/// Hands `item` to an idle worker, creating one if all are busy and the cap allows, otherwise
/// waiting for one to go idle. Dispatcher only.
pub(super) fn post(gen: u32, item: Item) {
    loop {
        let seen = IDLE_SEQ.load(Ordering::SeqCst);
        let spawned = SPAWNED.load(Ordering::Relaxed) as usize;
        if let Some(slot) = free_slot(spawned) {
            slot.post(item);
            return;
        }
        if spawned < POOL_CAP {
            let slot = &SLOTS[spawned];
            // SAFETY: no worker exists for this slot yet; the dispatcher is its only user.
            unsafe { *slot.item.get() = item };
            slot.state.store(SLOT_FULL, Ordering::SeqCst);
            if sys::spawn("aio-rs-cb", ThreadAttr::Default, move || worker_loop(gen, spawned)).is_ok() {
                SPAWNED.store(spawned as u32 + 1, Ordering::Relaxed);
                return;
            }
            slot.state.store(SLOT_IDLE, Ordering::SeqCst);
            if spawned == 0 {
                // No worker at all and none can be created right now: retry a bit later.
                let _ = futex_wait(&IDLE_SEQ, seen, Some(CAPACITY_WAIT));
                continue;
            }
        }
        // Every worker is busy: wait for one to go idle. No lost wake-up, by the same argument
        // as `dispatcher_idle_wait` (worker: store IDLE; IDLE_SEQ += 1; load WAITS flag).
        DISPATCHER_WAITS_IDLE.store(1, Ordering::SeqCst);
        if free_slot(spawned).is_none() {
            let _ = futex_wait(&IDLE_SEQ, seen, Some(CAPACITY_WAIT));
        }
        DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
    }
}

/// A pool worker: runs the callbacks posted to its slot.
fn worker_loop(gen: u32, index: usize) {
    let slot = &SLOTS[index];
    loop {
        let item = slot.wait_take();
        if let Some(function) = item.function {
            // SAFETY: the application registered this SIGEV_THREAD callback with this value.
            unsafe { function(item.value) };
        }
        if generation() != gen {
            // We are the thread that forked, now in the child: the state is not ours.
            return;
        }
        slot.state.store(SLOT_IDLE, Ordering::SeqCst);
        IDLE_SEQ.fetch_add(1, Ordering::SeqCst);
        if DISPATCHER_WAITS_IDLE.load(Ordering::SeqCst) != 0 {
            futex_wake(&IDLE_SEQ, 1);
        }
    }
}

/// The pool's part of `super::after_fork_child`.
pub(super) fn after_fork_child() {
    SPAWNED.store(0, Ordering::SeqCst);
    for slot in SLOTS.iter() {
        slot.state.store(SLOT_IDLE, Ordering::SeqCst);
    }
    IDLE_SEQ.store(0, Ordering::SeqCst);
    DISPATCHER_WAITS_IDLE.store(0, Ordering::SeqCst);
}
