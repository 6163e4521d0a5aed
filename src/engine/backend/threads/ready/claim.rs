//! A waiter's claim on a parked request (`wait::claim`): the thread that waits for a parked pipe
//! or socket request takes it out of the set and sleeps on its file itself, so the transfer that
//! makes it ready wakes the waiter directly (one cross-CPU wake-up) instead of the poller, which
//! would then wake the waiter (two).
//!
//! The waiter may be in a signal handler, so everything here only *tries* the table's lock, never
//! allocates (an entry emptied by a claim stays in the map, so that putting the request back
//! inserts nothing), and gives up (the caller then does without) whenever anything would need more:
//! another instance than the one the entries were registered in, an entry with other requests,
//! a registration that cannot be armed.

use super::defer::TRIES;
use super::{arm, dir_of, Ready};
use crate::engine::request::{Phase, ReqPtr};
use core::sync::atomic::Ordering::SeqCst;

impl Ready {
    /// Takes `r` (live for the call) out of the set, if it is parked there alone on its file with
    /// nothing transferred, and removes its file's registration. True if taken: the caller owns
    /// it (phase Issued: `aio_cancel` waits for the caller to give it back, since it may transfer at any
    /// moment) and must finish it or give it back ([`Ready::put_back`]).
    pub(crate) fn claim(&self, r: ReqPtr) -> bool {
        // SAFETY: an aiocb the waiter awaits, in flight and readable for the call (`claim`'s
        // caller); only read until it is taken out of the table under the lock, which owns it.
        let req = unsafe { r.get() };
        let Some(h) = req.held() else { return false };
        let fd = h.fd();
        // A few tries: the poller takes the lock briefly, and a request left unregistered for its
        // waiter (`defer`) would otherwise wait for the poller to register it.
        let Some(mut g) = (0..TRIES).find_map(|_| {
            self.table.try_lock().or_else(|| {
                core::hint::spin_loop();
                None
            })
        }) else {
            return false;
        };
        let t = &mut *g;
        // Phase and membership change only under this lock while the request is parked.
        if req.state().phase() != Phase::Queued || req.progress() != 0 {
            return false;
        }
        let dir = dir_of(&req);
        let Some(e) = t.by_fd.get_mut(&fd) else { return false };
        if e.held != h.to_word()
            || e.lists[dir].front() != Some(r)
            || e.lists.iter().map(|l| l.len()).sum::<usize>() != 1
        {
            return false;
        }
        // A registration must be in the current instance (else the poller hands them all to the
        // workers) and is removed. An entry left unregistered (`defer`) needs neither: the
        // instance is not even looked at (one `fcntl` saved).
        let ep = match e.registered {
            true => match self.ep.current_gen().filter(|&(_, gen)| gen == t.gen) {
                Some((ep, _)) => Some(ep),
                None => return false,
            },
            false => None,
        };
        e.lists[dir].pop_front();
        req.issue();
        // No longer left to a completion queue's harvest or to its waiter (`defer`): given back,
        // it is armed.
        e.defer = 0;
        self.waiting.fetch_sub(1, SeqCst);
        // Nothing is left on the number: `arm` removes its registration (it cannot fail then).
        if let Some(ep) = ep {
            let _ = arm(ep, fd, e);
        }
        true
    }

    /// Parks `r` again at the front of its direction: a request its waiter claimed and did not
    /// finish (live, owned by the caller, in no list). False (the caller keeps it) if that cannot
    /// be done without waiting for the lock or handing anything to the workers.
    pub(crate) fn put_back(&self, r: ReqPtr) -> bool {
        // SAFETY: a claimed request: the claimer owns it and it stays in flight until finished.
        let req = unsafe { r.get() };
        let Some(h) = req.held() else { return false };
        let fd = h.fd();
        let dir = dir_of(&req);
        let Some(mut g) = self.table.try_lock() else { return false };
        let t = &mut *g;
        let Some((ep, _)) = self.ep.current_gen().filter(|&(_, gen)| gen == t.gen) else { return false };
        let Some(e) = t.by_fd.get_mut(&fd).filter(|e| e.held == h.to_word()) else { return false };
        if req.progress() == 0 {
            req.queue_for_workers();
        }
        // SAFETY: claimed, so in no list (claim took it out of the table); the table owns it from
        // here.
        unsafe { e.lists[dir].push_front(r) };
        if arm(ep, fd, e).is_err() {
            e.lists[dir].remove(r);
            req.issue();
            return false;
        }
        self.waiting.fetch_add(1, SeqCst);
        drop(g);
        if self.idle.load(SeqCst) != 0 {
            self.idle.store(0, SeqCst);
            crate::sys::futex_wake(&self.idle, 1);
        }
        true
    }

    /// Forgets the entry a claim emptied (the claimed request of duplicate `held` is finished), if
    /// it is still empty and the lock is free; one left behind costs nothing but its memory until
    /// the number is parked on again.
    pub(crate) fn forget(&self, fd: core::ffi::c_int, held: u32) {
        if let Some(mut g) = self.table.try_lock() {
            if g.by_fd.get(&fd).is_some_and(|e| e.held == held && !e.registered && e.lists.iter().all(|l| l.is_empty()))
            {
                g.by_fd.remove(&fd);
            }
        }
    }
}
