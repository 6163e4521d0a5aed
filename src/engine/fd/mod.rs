//! Descriptors: the table ([`table`]: class cache, ordering state) and the ordering state machine
//! ([`ordering`], pure), and here the glue that drives the state machine from the engine:
//! requests it lets go are issued in a [`Batch`], requests it parks hold their caller's open file
//! (`FdEntry::hold`: a duplicate, made on the submitter's thread) and are counted in the helpers'
//! `force_watch` (a parked request depends on completions that may be in any queue and that
//! nobody else may be waiting for), and a re-evaluation that cannot take the fd's lock (a reaper
//! that may be in a signal handler) is handed to a helper.

pub(crate) mod ordering;
pub(crate) mod table;

use self::ordering::Admit;
use self::table::FdEntry;
use super::batch::Batch;
use super::core::Engine;
use super::request::{List, Meta, ReqPtr};

/// The engine's side of the state machine.
struct EngineAdmit<'b, 'e, 'f> {
    eng: &'e Engine,
    fe: &'f FdEntry,
    batch: &'b mut Batch<'e>,
}

impl Admit for EngineAdmit<'_, '_, '_> {
    fn issue(&mut self, r: ReqPtr) {
        // SAFETY: the state machine hands over a live, accepted request it just took out of (or
        // kept out of) its lists: in no list, and ours to issue.
        unsafe { self.batch.push(r) };
    }
    fn hold(&mut self, r: ReqPtr) -> bool {
        // SAFETY: the state machine hands over a live, accepted request it owns under the fd lock.
        let req = unsafe { r.get() };
        if req.held().is_some() {
            return true;
        }
        // Parking happens only at submission, on the submitter's thread, so the number still
        // names the file the request was submitted on.
        match self.fe.hold(req.fd()) {
            Ok(h) => {
                req.set_held(h);
                true
            }
            Err(_) => false,
        }
    }
    fn parked(&mut self, _: ReqPtr) {
        self.eng.force_watch_inc();
    }
    fn unparked(&mut self, n: usize) {
        for _ in 0..n {
            self.eng.force_watch_dec();
        }
    }
}

/// Admits a request that must take the slow path (ordered, an fsync, or a drain holds the fd's
/// requests); whatever can be issued goes into `batch`. `drain`: the fd's class changed under
/// requests in flight; hold everything until they are done. A request that must wait holds its
/// caller's open file from now on; false if no descriptor could be had for that (the request was
/// neither parked nor issued, and the fd's state is as before: the caller refuses it).
///
/// # Safety
/// `r` is live, accepted, owned by the caller, not counted and in no list.
pub(crate) unsafe fn submit<'e>(eng: &'e Engine, fe: &FdEntry, r: ReqPtr, drain: bool, batch: &mut Batch<'e>) -> bool {
    // SAFETY: the caller owns `r`, live, accepted, not counted and in no list.
    unsafe { fe.order.submit(r, drain, &mut EngineAdmit { eng, fe, batch }) }
}

/// Completion-side bookkeeping for a request that was counted in its fd's in-flight count.
/// `blocking` is false in contexts that must not wait for a lock (possibly a signal handler).
pub(crate) fn completed(eng: &Engine, q: usize, fe: &FdEntry, m: Meta, blocking: bool) {
    if fe.order.complete(m) {
        kick(eng, q, fe, blocking);
    }
}

/// Re-evaluates the fd's lists now if its lock can be had, else hands that to queue `q`'s helper.
pub(crate) fn kick(eng: &Engine, q: usize, fe: &FdEntry, blocking: bool) {
    let guard = if blocking { Some(fe.order.lock()) } else { fe.order.try_lock() };
    match guard {
        Some(mut l) => {
            let mut batch = Batch::new(eng, blocking);
            fe.order.evaluate(&mut l, &mut EngineAdmit { eng, fe, batch: &mut batch });
            drop(l);
            batch.flush();
        }
        None => eng.queue(q).defer_kick(fe),
    }
}

/// Removes `r` from its fd's lists if it waits there (issuing what that releases). Returns
/// whether it was removed; the caller then finishes it (it never touched the fd).
pub(crate) fn unlink_waiting(eng: &Engine, fe: &FdEntry, r: ReqPtr) -> bool {
    let mut batch = Batch::new(eng, true);
    let removed = fe.order.unlink(r, &mut EngineAdmit { eng, fe, batch: &mut batch });
    batch.flush();
    removed
}

/// Removes every request waiting on the fd; returns them for the caller to finish.
pub(crate) fn unlink_all_waiting(eng: &Engine, fe: &FdEntry) -> List {
    let mut batch = Batch::new(eng, true);
    let out = fe.order.unlink_all(&mut EngineAdmit { eng, fe, batch: &mut batch });
    batch.flush();
    out
}
