//! The library's own waits (`aio_cancel` waiting for what it asked): driven by [`run`], without
//! a timeout, a signal handler's interruption only making them wait again.

use super::{run, Target, Wait};
use crate::engine::backend::threads::Taken;
use crate::engine::backend::uring::CancelSlot;
use crate::engine::core::Engine;
use crate::engine::queue::Queue;
use crate::engine::request::ReqPtr;
use crate::errno::Errno;

/// Waits for the CQE of an internal cancel SQE on queue `q`'s ring.
pub(crate) fn wait_slot(eng: &Engine, q: &Queue, slot: &CancelSlot) {
    // SAFETY: the slot is the caller's, live until this returns.
    let w = unsafe { Wait::new(Some(eng), Target::Slot { slot, q: q.idx }, None) };
    let _ = run(w);
}

/// Waits until the worker of queue `q` that request `t` was taken from has finished it.
/// Ignores signals: the caller counts the request as cancelled only once its worker is done.
pub(crate) fn wait_worker(eng: &Engine, q: &Queue, t: Taken) {
    while run(Wait::new_for_worker(eng, q.idx, t)) == Err(Errno::EINTR) {}
}

/// Waits (without timeout, ignoring signals) until `r` is no longer in progress.
///
/// # Safety
/// `r` is live for the whole wait (the caller's own aiocb, or one it owns a claim on).
pub(crate) unsafe fn wait_done(eng: &Engine, r: ReqPtr) {
    // SAFETY: `r` is live for the whole wait (caller).
    while run(unsafe { Wait::new(Some(eng), Target::Done(r), None) }) == Err(Errno::EINTR) {}
}
