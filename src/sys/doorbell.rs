//! A doorbell: how anyone (a signal handler included) wakes one thread of ours that sleeps either
//! on a futex, while it has no descriptor to watch, or in `poll` on descriptors, while it has.
//!
//! Ringing is a futex wake-up in the first case and a write to an eventfd of ours in the second,
//! so a sleeper that watches nothing depends on no descriptor at all: a program that closes our
//! descriptors (`closefrom`) cannot make it miss a wake-up. While it polls, the eventfd is checked
//! before every write (`OwnEventFd`), and the sleeper polls with a timeout, after which it makes a
//! new eventfd if the old one was taken: a wake-up rung while the eventfd was lost is late by at
//! most that timeout, never lost.
//!
//! No wake-up is lost otherwise. The ringer increments `seq`, then reads `mode`; the sleeper
//! stores `mode`, then reads `seq` (all SeqCst). In the single total order of SeqCst operations,
//! either the sleeper's read sees the increment (and it does not sleep), or the ringer's read comes
//! after the sleeper's store and sees its mode: a futex wake-up (the kernel compares `seq` with
//! the sleeper's ticket atomically with going to sleep) or an eventfd write (the counter stays
//! until it is drained, so `poll` returns at once).

use core::ffi::c_int;
use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

use super::fd::OwnEventFd;
use super::futex::{futex_wait, futex_wake};

const RUNNING: u32 = 0;
const FUTEX: u32 = 1;
const POLL: u32 = 2;

#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    seq: AtomicU32,
    mode: AtomicU32,
    efd: OwnEventFd,
}

impl Doorbell {
    pub(crate) const fn new() -> Self {
        Doorbell { seq: AtomicU32::new(0), mode: AtomicU32::new(RUNNING), efd: OwnEventFd::new() }
    }

    /// Wakes the sleeper, or makes its next sleep return at once. Async-signal-safe.
    pub(crate) fn ring(&self) {
        self.seq.fetch_add(1, SeqCst);
        match self.mode.load(SeqCst) {
            FUTEX => futex_wake(&self.seq, 1),
            POLL => self.efd.signal(),
            _ => {}
        }
    }

    /// The sleeper's ticket, read before it looks for work; its sleep returns at once if the bell
    /// rang after this.
    pub(crate) fn ticket(&self) -> u32 {
        self.seq.load(SeqCst)
    }

    /// Sleeps on the futex until the bell rings (after `ticket`).
    pub(crate) fn sleep(&self, ticket: u32) {
        self.mode.store(FUTEX, SeqCst);
        if self.seq.load(SeqCst) == ticket {
            let _ = futex_wait(&self.seq, ticket, None);
        }
        self.mode.store(RUNNING, SeqCst);
    }

    /// Prepares a sleep in `poll`: returns the eventfd to poll along (-1 if there is none: the
    /// sleeper then relies on its timeout, and the next AIO call makes one, see
    /// [`Doorbell::make_fd`]), or None if the bell rang after `ticket` (do not sleep). Call
    /// [`Doorbell::end_poll`] after the poll.
    pub(crate) fn begin_poll(&self, ticket: u32) -> Option<c_int> {
        let fd = self.efd.current().unwrap_or(-1);
        self.mode.store(POLL, SeqCst);
        if self.seq.load(SeqCst) != ticket {
            self.mode.store(RUNNING, SeqCst);
            return None;
        }
        Some(fd)
    }

    pub(crate) fn end_poll(&self) {
        self.mode.store(RUNNING, SeqCst);
        self.efd.drain();
    }

    /// Whether the eventfd is missing or was lost (one load).
    pub(crate) fn fd_wanted(&self) -> bool {
        self.efd.wanted()
    }

    /// Makes the eventfd (program threads only: see `OwnEventFd`).
    pub(crate) fn make_fd(&self) {
        let _ = self.efd.ensure();
    }

    /// In a fork child: closes the eventfd if it is still ours.
    pub(crate) fn close_inherited(&self) {
        self.efd.close_inherited();
    }
}
