//! Cancellation. `aio_cancel` says `AIO_CANCELED` only for requests that will never touch the fd:
//! those waiting in a chain, as an fsync waiting for its predecessors, held by a drain, or in a
//! work list (removed under their lock), those a worker is still polling for (taken back by a
//! compare-and-swap the worker also races on), and those io_uring confirms it removed before they
//! ran. They complete with ECANCELED and still notify. Requests already running, and kernel AIO
//! requests (which Linux cannot cancel for files), are `AIO_NOTCANCELED`.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use super::backend::uring::CancelSlot;
use super::complete::{finish, reap};
use super::core::Engine;
use super::fd;
use super::fd::table::FdEntry;
use super::request::{Backend, Phase, ReqPtr};
use super::wait::{wait_done, wait_slot, wait_worker};
use crate::abi::{AIO_ALLDONE, AIO_CANCELED, AIO_NOTCANCELED};

use crate::sys;

const CANCELED: isize = -(libc::ECANCELED as isize);

/// How long `aio_cancel` waits for a worker's transfer attempt on a stream to end before it
/// calls the request uncancellable.
const ATTEMPT_WAIT: core::time::Duration = core::time::Duration::from_secs(1);

/// Cancels one request. Returns AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
///
/// # Safety
/// `r` is live for the whole call (the caller's aiocb, passed to `aio_cancel`).
pub(crate) unsafe fn cancel_one(eng: &Engine, r: ReqPtr) -> c_int {
    // SAFETY: live for the call (caller); we only read it, or act on it after taking it from
    // whoever owned it.
    let req = unsafe { r.get() };
    let mut attempt_ends_by = None;
    loop {
        if !req.in_flight(eng.epoch) || req.status() != libc::EINPROGRESS {
            return AIO_ALLDONE;
        }
        let m = req.meta();
        let q = eng.queue(m.queue());
        let st = req.state();
        // A worker's stream request is Issued only for the length of one transfer attempt, which
        // never waits (RWF_NOWAIT); look again after a yield rather than call it uncancellable.
        // The bound is in time, not in yields: on a loaded machine the worker may be preempted in
        // the middle of its attempt for longer than many yields (64 yields once answered
        // AIO_NOTCANCELED for a socket read that nothing would ever have completed).
        // A request handed to the helper to submit to the ring (`uring::may_submit`) is issued
        // there at once: look again after a yield, with the same bound.
        // A stream request a waiter claimed (`wait::local`) is Issued while that waiter sleeps on
        // its file: asked to, it gives the request back to the readiness set when it next wakes.
        let transient = match st.phase() {
            Phase::Issued => m.backend() == Backend::Threads && m.stream(),
            Phase::Deferred => true,
            _ => false,
        };
        if transient {
            req.mark_cancel_asked();
            let now = sys::now();
            if now < *attempt_ends_by.get_or_insert(now + ATTEMPT_WAIT) {
                sys::yield_now();
                continue;
            }
        }
        match st.phase() {
            Phase::Waiting => {
                if let Some(fe) = eng.fds.get(req.fd()) {
                    if fd::unlink_waiting(eng, fe, r) {
                        // SAFETY: unlinked under the fd lock: the canceller owns it now.
                        unsafe { finish_unlinked(eng, r) };
                        return AIO_CANCELED;
                    }
                }
            }
            Phase::Queued => {
                if q.pool.remove_queued(r, &q.bell) {
                    // SAFETY: removed under the work lock: the canceller owns it now.
                    unsafe { finish(eng, r, CANCELED, true) };
                    return AIO_CANCELED;
                }
            }
            Phase::Polling => {
                if q.pool.take_from_poller(&req, st) {
                    // SAFETY: live for the call (caller); its worker finishes it.
                    unsafe { wait_done(eng, r) };
                    return AIO_CANCELED;
                }
            }
            Phase::Issued if m.backend() == Backend::Uring => {
                req.mark_cancel_asked();
                let slot = CancelSlot::default();
                let Some(ring) = &q.ring else { return AIO_NOTCANCELED };
                // SAFETY: the slot outlives its CQE: we wait for it below.
                if unsafe { ring.submit_cancel(Some(r), -1, &slot) }.is_err() {
                    return AIO_NOTCANCELED;
                }
                wait_slot(eng, q, &slot);
                let res = slot.result();
                if res == -libc::EALREADY {
                    return AIO_NOTCANCELED;
                }
                if res == -libc::ENOENT {
                    // Not in the ring: already complete (reaped now), or not there yet (the
                    // helper that submits it marks it Issued just before it enters the ring).
                    // Ask again after a yield, with the same bound; past it, we cancelled nothing.
                    reap(eng, q, true);
                    let now = sys::now();
                    if now < *attempt_ends_by.get_or_insert(now + ATTEMPT_WAIT) {
                        sys::yield_now();
                        continue;
                    }
                    return if req.status() == libc::EINPROGRESS { AIO_NOTCANCELED } else { AIO_ALLDONE };
                }
                // Found and cancelled (0), or already complete (ENOENT): wait for the final status.
                // SAFETY: live for the call (caller).
                unsafe { wait_done(eng, r) };
                let canceled = req.status() == libc::ECANCELED;
                return if res == 0 && canceled { AIO_CANCELED } else { AIO_ALLDONE };
            }
            Phase::Done | Phase::Idle => {
                // SAFETY: live for the call (caller).
                unsafe { wait_done(eng, r) };
                return AIO_ALLDONE;
            }
            _ => return AIO_NOTCANCELED,
        }
    }
}

/// Finishes a request taken out of its fd's lists as cancelled. A waiter may sleep in the kernel
/// source a parked fsync was to be issued to (see `wait::WaitSet::add`): that source is woken.
///
/// # Safety
/// The caller owns `r` (unlinked under the fd lock), live; nobody touches it afterwards.
unsafe fn finish_unlinked(eng: &Engine, r: ReqPtr) {
    // SAFETY: the caller owns r, live until finished.
    let m = unsafe { r.get() }.meta();
    // SAFETY: the caller's ownership and liveness, handed on.
    unsafe { finish(eng, r, CANCELED, true) };
    if m.barrier() {
        eng.moved();
        eng.queue(m.queue()).wake_source(m.backend(), true);
    }
}

/// Cancels every request on `fdn`. Returns AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
pub(crate) fn cancel_fd(eng: &Engine, fdn: c_int) -> c_int {
    let Some(fe) = eng.fds.get(fdn) else { return AIO_ALLDONE };
    fe.cancelling.fetch_add(1, AcqRel);
    eng.fd_cancel_begin();
    let r = cancel_fd_entry(eng, fdn, fe);
    eng.fd_cancel_end();
    fe.cancelling.fetch_sub(1, AcqRel);
    r
}

fn cancel_fd_entry(eng: &Engine, fdn: c_int, fe: &FdEntry) -> c_int {
    let mut cancelled = 0u64;
    // 1. Requests waiting on the fd's own lists never touched it.
    let mut waiting = fd::unlink_all_waiting(eng, fe);
    while let Some(r) = waiting.pop_front() {
        // SAFETY: unlinked under the fd lock, so the canceller owns it.
        unsafe { finish_unlinked(eng, r) };
        cancelled += 1;
    }
    for q in eng.started_queues() {
        // 3. Requests a worker is polling for. A request caught between two attempts (Issued for
        // the length of one system call), or on its way to the readiness set, is looked at
        // again after a yield, a few times.
        // A waiter that claimed a request (`wait::local`) gives it back only when it next wakes:
        // while claims are out and requests on the fd are left, the bound is in time.
        let until = sys::now() + ATTEMPT_WAIT;
        for round in 0.. {
            // Whether a claimed request may still come back, read before the set is looked at:
            // a waiter gives its claim back to the set and only then stops counting it, so a
            // claim that ends after this look was still counted here, and the loop looks again.
            let claims_out = q.pool.has_claims() || q.handing_over();
            // 2. Requests queued for workers, or parked in their readiness set (again each
            // round: a worker's request may have been parked meanwhile).
            let mut mine = q.pool.take_queued_on_fd(fdn, &q.bell);
            while let Some(r) = mine.pop_front() {
                // SAFETY: unlinked under the work lock (or the set's), so the canceller owns it.
                unsafe { finish(eng, r, CANCELED, true) };
                cancelled += 1;
            }
            let (taken, transient) = q.pool.take_polling_on_fd(fdn);
            for t in taken {
                // Its worker finishes it as cancelled; the program may reap and free it as soon as
                // that is published, so we wait on the worker, never on the request.
                wait_worker(eng, q, t);
                cancelled += 1;
            }
            // A claimed request comes back to the set, or (its waiter could not take the set's
            // lock) through the helper, which issues it to the workers again.
            let coming_back = claims_out && fe.order.inflight() != 0 && sys::now() < until;
            if !coming_back && (!transient || round >= 7) {
                break;
            }
            sys::yield_now();
        }
        // 4. Requests in the ring: issued on the number, or on the duplicate its requests share
        // (those that had to wait hold their file: see `FdEntry::hold`). What was handed to the
        // helper to submit gets there first (bounded: the helper issues it at once).
        if let Some(ring) = &q.ring {
            let until = sys::now() + ATTEMPT_WAIT;
            while q.handing_over() && sys::now() < until {
                sys::yield_now();
            }
            let before = fe.order.inflight();
            let mut in_ring = 0;
            for target in [Some(fdn), fe.shared_fd()].into_iter().flatten() {
                let slot = CancelSlot::default();
                // SAFETY: the slot outlives its CQE: we wait for it below.
                if unsafe { ring.submit_cancel(None, target, &slot) }.is_ok() {
                    wait_slot(eng, q, &slot);
                    let n = slot.result();
                    if n > 0 {
                        in_ring += n as u64;
                    }
                }
            }
            cancelled += in_ring;
            // The completions of what the ring cancelled are posted by the task work of the
            // thread that submitted them (a helper), not inside our `io_uring_enter`: let them
            // land before counting what is left (bounded: the helper runs it at once).
            let target = before.saturating_sub(in_ring as u32);
            let until = sys::now() + ATTEMPT_WAIT;
            while in_ring > 0 && fe.order.inflight() > target && sys::now() < until {
                reap(eng, q, true);
                sys::yield_now();
            }
        }
    }
    // Let the cancelled ring requests' completions land, then see what is left.
    for q in eng.started_queues() {
        reap(eng, q, true);
    }
    if fe.order.inflight() != 0 {
        AIO_NOTCANCELED
    } else if cancelled > 0 {
        AIO_CANCELED
    } else {
        AIO_ALLDONE
    }
}
