//! Completion: where every `Completion` a backend reports arrives, and [`finish`], which ends a
//! request exactly once: publish the status, update the fd's bookkeeping (which may issue the next
//! request of an ordering chain, or an fsync waiting for its predecessors), send the notification,
//! count the lio group down, and bump the engine's event counter to wake sleepers.
//!
//! Whoever needs a completion first reaps it ([`reap`]): a waiter, `aio_error`, or the queue's
//! helper. `blocking` is false where the reaper may be in a signal handler: then nothing waits
//! for a lock, and what needs one is handed to the helper.

use super::backend::uring::MAX_RW;
use super::batch::Batch;
use super::core::Engine;
use super::fd;
use super::group::Group;
use super::queue::Queue;
use super::request::{free_job, Backend, Completion, Completions, Meta, Op, Phase, Req, ReqPtr, State};
use super::stats::Served;
use crate::notify::{self, Notify};
use crate::sys;

/// The workers' completions (a blocking context).
impl Completions for Engine {
    fn complete(&self, c: Completion) {
        match c {
            // SAFETY: a worker reports a request it owns, once.
            Completion::Request(r, res) => unsafe { finish(self, r, res, true) },
            Completion::Internal => self.done.notify_all(),
        }
    }
}

/// Reaps whatever queue `q` has ready (see `Queue::reap`). Returns false if a reap lock was busy.
pub(crate) fn reap(eng: &Engine, q: &Queue, blocking: bool) -> bool {
    q.reap(blocking, |c| handle(eng, q, c, blocking))
}

/// Reaps source `k` of `q`, with its reap lock held (see `Queue::reap_source`).
///
/// # Safety
/// The caller holds `k`'s reap lock.
pub(crate) unsafe fn reap_source(eng: &Engine, q: &Queue, k: Backend, blocking: bool) {
    // SAFETY: the caller holds `k`'s reap lock.
    unsafe { q.reap_source(k, &mut |c| handle(eng, q, c, blocking)) }
}

/// Acts on one completion reaped from a kernel source of queue `q`.
fn handle(eng: &Engine, q: &Queue, c: Completion, blocking: bool) {
    let (r, mut res) = match c {
        Completion::Request(r, res) => (r, res),
        Completion::Internal => {
            eng.done.notify_all();
            return;
        }
    };
    // SAFETY: the user_data of a request is its aiocb, live until we finish it; the reaper owns it.
    let req = unsafe { r.get() };
    let m = req.meta();
    let on_ring = m.backend() == Backend::Uring;
    if on_ring && m.stream() && m.op() == Op::Write {
        // write(2) on a blocking pipe or socket writes everything; io_uring stops at what fits.
        // Continue from where it stopped until all is written.
        let done = req.progress() as isize;
        let total = req.nbytes().min(MAX_RW) as isize;
        if res > 0 && done + res < total {
            req.set_progress((done + res) as usize);
            let mut b = Batch::new(eng, blocking);
            // SAFETY: the reaper owns r, which is in no list.
            unsafe { b.push(r) };
            b.flush();
            return;
        }
        if res >= 0 || done > 0 {
            res = done + res.max(0);
        }
    }
    if res == -(libc::ESPIPE as isize) && on_ring && !m.stream() {
        // A lone request used a stale class: the fd is now a socket. It was not touched; re-issue
        // it as a stream from the helper.
        if let Some(fe) = eng.fds.get(req.fd()) {
            fe.invalidate();
        }
        req.set_progress(0);
        req.set_stream();
        // SAFETY: the reaper owns r, which is in no list.
        unsafe { q.defer(r) };
        q.wake();
        return;
    }
    if res == -(libc::ECANCELED as isize) && on_ring && !cancel_was_asked(eng, r) && !maybe_cancelled_by_file(eng, &req)
    {
        // io_uring cancels a task's pending requests when the thread that submitted them exits.
        // They never touched the fd, so issue them again from this queue's helper, which lives as
        // long as the process.
        // SAFETY: the reaper owns r, live and in no list.
        unsafe { q.defer(r) };
        q.wake();
        return;
    }
    // SAFETY: the reaper owns r.
    unsafe { finish(eng, r, res, blocking) }
}

/// Gives up the file a finishing request held (the kernel, if it ran the request, has its own
/// reference and is done with it), before the program can see the request done; returns the
/// result to publish. Out of line: the fast path holds nothing.
#[cold]
#[inline(never)]
fn give_up_held(eng: &Engine, req: &Req<'_>, mut res: isize) -> isize {
    let Some(h) = req.take_held() else { return res };
    if res == -(libc::EBADF as isize) && !sys::held_ok(h) {
        // The duplicate was taken from us (`closefrom`) between our check and the system call
        // (or io_uring looked it up late, as it does for an fsync): it never touched its file.
        res = -(libc::ECANCELED as isize);
    }
    eng.fds.release_hold(req.fd(), h);
    res
}

/// Whether an ECANCELED completion answers an `aio_cancel` (rather than a thread's exit).
/// Whether a ring request that ended with ECANCELED, holding no duplicate, may have been ended by
/// an `aio_cancel(fd, NULL)` on another number for the same file (see `Engine::ring_fd_cancels`):
/// then it must not be issued again on its own number, which may name another file by now.
fn maybe_cancelled_by_file(eng: &Engine, req: &Req<'_>) -> bool {
    req.held().is_none() && !req.meta().stream() && req.progress() as u32 != eng.ring_fd_cancels()
}

fn cancel_was_asked(eng: &Engine, r: ReqPtr) -> bool {
    // SAFETY: the reaper owns r, live until finished.
    let req = unsafe { r.get() };
    req.state().cancel_asked()
        || eng.fds.get(req.fd()).is_some_and(|fe| fe.cancelling.load(core::sync::atomic::Ordering::Acquire) != 0)
}

/// The stats column of a request being finished (in `state`, with `meta`): the engine that had
/// it, or none (a request still `Idle` failed at submission; one still `Waiting` on its
/// descriptor was cancelled before any engine had it).
fn served_by(state: State, meta: Meta) -> Served {
    match state.phase() {
        Phase::Idle => Served::AtSubmission,
        Phase::Waiting => Served::NotIssued,
        _ => match meta.backend() {
            Backend::Uring => Served::Uring,
            Backend::Kaio => Served::Kaio,
            Backend::Threads => Served::Workers,
        },
    }
}

/// Ends a request exactly once: publishes its result, then does the bookkeeping that no longer
/// needs the aiocb, then notifies. The caller must be the request's single owner at this point
/// (the reaper of its completion, its worker, or the canceller that took it out of a list).
///
/// Once the status leaves EINPROGRESS the program may reuse or free the aiocb, so everything
/// needed afterwards is read before publishing, and nothing touches the aiocb after.
///
/// # Safety
/// `r` is live and owned by the caller; nobody touches it after this call.
pub(crate) unsafe fn finish(eng: &Engine, r: ReqPtr, mut res: isize, blocking: bool) {
    // SAFETY: the caller owns r until publish.
    let req = unsafe { r.get() };
    let (m, fdn, job, group) = (req.meta(), req.fd(), req.job(), Group::from_member_tag(req.group()));
    let notify = Notify::validated(req.sigevent());
    if req.held().is_some() {
        res = give_up_held(eng, &req, res);
    }
    let qi = m.queue();
    let q = eng.queue(qi);
    let counted = q.stats.map(|s| (s, served_by(req.state(), m)));
    req.publish(res);
    if let Some((s, by)) = counted {
        s.completed(by, res);
    }
    if m.watched() {
        q.watch_dec();
    }
    if m.counted() {
        if let Some(fe) = eng.fds.get(fdn) {
            fd::completed(eng, qi, fe, m, blocking);
        }
    }
    if !notify.is_none() {
        // SAFETY: for SIGEV_THREAD, job is the block made at submission (`new_job`), valid until
        // the notifier hands it to `free_job`.
        unsafe { notify::deliver(&notify, job, free_job) };
    }
    if !group.is_null() {
        // SAFETY: a group outlives its members' completions (it holds a reference for them).
        unsafe { Group::member_done(eng, group, res < 0, blocking) };
    }
    eng.done.notify_all();
}
