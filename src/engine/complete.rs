//! Completion: where every `Completion` a backend reports arrives, and [`finish`], which ends a
//! request exactly once: publish the status, update the fd's bookkeeping (which may issue the next
//! request of an ordering chain, or an fsync waiting for its predecessors), send the notification,
//! count the lio group down, and bump the engine's event counter to wake sleepers.
//!
//! Whoever needs a completion first reaps it ([`reap`]): a waiter, `aio_error`, or the queue's
//! helper. `blocking` is false where the reaper may be in a signal handler: then nothing waits
//! for a lock, and what needs one is handed to the helper.

use super::batch::Batch;
use super::core::Engine;
use super::fd;
use super::fd::table::FdEntry;
use super::group::Group;
use super::queue::Queue;
use super::request::{free_job, Backend, Completion, Completions, Meta, Phase, Req, ReqPtr, State};
use super::stats::Served;
use crate::notify::{self, Notify};
use crate::sys::{self, Held};

/// The workers' completions (a blocking context).
impl Completions for Engine {
    fn complete(&self, c: Completion) {
        match c {
            // SAFETY: a worker reports a request it owns, once.
            Completion::Request(r, res) => unsafe { finish(self, r, res, true) },
            Completion::Internal => self.done.notify_all(),
        }
    }

    fn worker_done(&self, r: ReqPtr, res: isize, wake: bool) {
        // SAFETY: a worker reports a request it owns, once; it calls `idle` before it sleeps.
        unsafe { finish_as(self, r, res, true, true, wake, false) }
    }

    fn wake_waiters(&self, queue: usize) {
        self.done.notify_all();
        self.queue(queue).done.notify_all();
    }

    fn idle(&self) {
        self.fds.let_go_kept();
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

/// Reaps `q`'s kernel AIO context from its completion ring (see `Queue::reap_kaio_ring`).
///
/// # Safety
/// The caller holds the context's reap lock.
pub(crate) unsafe fn reap_deferred(eng: &Engine, q: &Queue, blocking: bool) {
    let mut hits = Hits { fe: core::ptr::null(), fd: -1, generation: 0, held: 0, n: 0, all: 0 };
    let mut on = |c| match c {
        Completion::Request(r, res) => {
            // SAFETY: the user_data of a request is its aiocb, live until we finish it; ours.
            let req = unsafe { r.get() };
            // Its meta word, read once (the reaper owns the request: nobody changes it now).
            let m = req.meta();
            if m.nowait() && !missed_as(&req, m, res) {
                // SAFETY: the reaper owns r, a deferred read the page cache served.
                unsafe { hits.finish(eng, q, r, m, res, blocking) }
            } else {
                handle_cold(eng, q, c, blocking)
            }
        }
        c => handle_cold(eng, q, c, blocking),
    };
    // SAFETY: the caller holds the reap lock.
    unsafe { q.reap_kaio_ring(&mut on) };
    hits.end(eng, q, blocking);
}

/// Deferred reads the page cache served, finished by one reap ([`reap_deferred`]): what
/// [`finish_deferred`] does per request after publishing (the fd's count, the hold on its file,
/// `Pending`'s count of reads out, waking sleepers) is done once per run of reads counted in one
/// generation of one number and holding one duplicate, and once per reap.
struct Hits {
    /// The number entry, generation and duplicate (`Held` word) of the current run, and how many
    /// reads it has.
    fe: *const FdEntry,
    fd: core::ffi::c_int,
    generation: u32,
    held: u32,
    n: u32,
    /// Reads finished by this reap.
    all: u32,
}

impl Hits {
    /// Publishes `r`'s result `res`, and counts it for [`Hits::end`].
    ///
    /// # Safety
    /// As [`finish_deferred`].
    #[inline(always)]
    unsafe fn finish(&mut self, eng: &Engine, q: &Queue, r: ReqPtr, m: Meta, res: isize, blocking: bool) {
        // SAFETY: the caller owns r until publish.
        let req = unsafe { r.get() };
        let (fdn, held) = (req.fd(), req.held());
        debug_assert!(req.job().is_null() && req.group().is_null() && held.is_some() && !m.watched());
        req.publish(res);
        self.all += 1;
        // One more of the current run (same number, generation and hold), without looking the
        // number's entry up again: a number's entry is never moved or freed, so it is the run's.
        // (No run has `fd` -1, the value before the first: a request's number is not negative;
        // a closed run's fields are replaced by the next one's at once, see `another`.)
        let same = |h: Held| self.fd == fdn && self.generation == m.generation() && self.held == h.to_word();
        if m.plain() && held.is_some_and(same) {
            self.n += 1;
            return;
        }
        self.another(eng, q, m, fdn, held, blocking);
    }

    /// [`Hits::finish`] of a read (meta `m`, number `fdn`, hold `held`) that is not one more of
    /// the current run: out of line, so the loop over the ring's events stays small.
    #[inline(never)]
    fn another(&mut self, eng: &Engine, q: &Queue, m: Meta, fdn: core::ffi::c_int, held: Option<Held>, blocking: bool) {
        let (Some(fe), Some(h)) = (eng.fds.get(fdn), held) else {
            if let Some(h) = held {
                sys::release(h);
            }
            return;
        };
        if !m.plain() {
            eng.fds.release_holds(fe, h, 1, blocking);
            fd::completed(eng, q.idx, fe, m, blocking);
        } else if core::ptr::eq(self.fe, fe) && self.generation == m.generation() && self.held == h.to_word() {
            self.n += 1;
        } else {
            self.close_run(eng, q, blocking);
            (self.fe, self.fd, self.generation, self.held, self.n) = (fe, fdn, m.generation(), h.to_word(), 1);
        }
    }

    /// Takes the current run's reads out of their fd's count, and gives up their holds (kept for
    /// the next batch on the number when they were the last: `FdTable::release_holds`).
    fn close_run(&mut self, eng: &Engine, q: &Queue, blocking: bool) {
        // SAFETY: entries of the fd table are never freed while the engine lives.
        if let Some(fe) = unsafe { self.fe.as_ref() } {
            // A run of hits ends a run of misses (`inline::deferred_missed`).
            if fe.defer_misses.load(core::sync::atomic::Ordering::Relaxed) != 0 {
                fe.defer_misses.store(0, core::sync::atomic::Ordering::Relaxed);
            }
            if let (Some(h), true) = (Held::from_word(self.held), self.n != 0) {
                eng.fds.release_holds(fe, h, self.n, blocking);
                if fe.order.complete_plain(self.generation, self.n) {
                    fd::kick(eng, q.idx, fe, blocking);
                }
            }
        }
        self.n = 0;
    }

    /// After the reap: the last run, `Pending`'s count, and one wake-up of the sleepers (each
    /// read's status was published before).
    fn end(mut self, eng: &Engine, q: &Queue, blocking: bool) {
        self.close_run(eng, q, blocking);
        if self.all != 0 {
            q.pending.reaped(self.all);
            eng.done.notify_all();
            q.done.notify_all();
        }
    }
}

/// [`handle`], out of line: a completion of [`reap_deferred`] that is not a deferred read's hit
/// (which keeps the hits' loop small enough to be inlined whole).
#[inline(never)]
fn handle_cold(eng: &Engine, q: &Queue, c: Completion, blocking: bool) {
    handle(eng, q, c, blocking)
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
    if m.nowait() {
        q.pending.reaped_one();
        if missed(&req, res) {
            after_miss(eng, q, r, blocking, true);
        } else {
            // SAFETY: the reaper owns r.
            unsafe { finish_deferred(eng, q, r, res, blocking) };
        }
        return;
    }
    let on_ring = m.backend() == Backend::Uring;
    if on_ring && m.stream() && m.op().is_write() {
        // write(2) on a blocking pipe or socket writes everything; io_uring stops at what fits.
        // Continue from where it stopped until all is written (for a vector, from the iovec and
        // offset where it stopped: see `Req::span`), with the file the request holds (a stream
        // request for io_uring holds one, unless no descriptor was free when it was submitted:
        // then it ends with what was written, as a short write).
        let done = req.progress() as isize;
        let total = req.total_len() as isize;
        if res > 0 && done + res < total && req.held().is_some() {
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
    // Nothing below issues a request again by its number: we are not on the thread that submitted
    // it, or no longer inside its call, so the number may have been closed and may name another
    // file by now. A request is issued again only with the duplicate it holds (checked before
    // use, `Batch::push`); the helper makes one, checked, for the one kind that holds none (see
    // `ready_to_reissue`).
    if res == -(libc::ESPIPE as isize) && on_ring && !m.stream() {
        // A lone request used a stale class: the fd was a socket when it was issued (which
        // answers ESPIPE to an offset without being touched). Re-issue it as a stream from the
        // helper, which first makes it hold a stream (`ready_to_reissue`).
        if let Some(fe) = eng.fds.get(req.fd()) {
            fe.invalidate();
        }
        req.set_stream();
        req.set_progress(0);
        // SAFETY: the reaper owns r, which is in no list.
        unsafe { q.defer(r) };
        q.wake();
        return;
    }
    if res == -(libc::ECANCELED as isize) && on_ring && !cancel_was_asked(eng, r) {
        // io_uring cancelled a request nobody asked us to cancel here. It never touched its file.
        // Three causes: the thread that submitted it exited (io_uring cancels what that thread
        // left pending: a stream request waiting for its stream, work queued for its io-wq); an
        // `aio_cancel(fd, NULL)` reached it though it was submitted on another number (io_uring
        // matches the open file, which every `dup` of a descriptor shares); or its completion
        // arrived only after that `aio_cancel` returned.
        //
        // * It holds its file (streams, requests that waited on their fd, fsyncs io_uring ran:
        //   see `submit::accept`): issue it again from the helper, which lives as long as the
        //   process, with that file.
        // * It holds nothing (a read or write on a file that went straight into the ring) and an
        //   `aio_cancel(fd, NULL)` was under way since it was submitted (its cancel mark, see
        //   `Engine::fd_cancel_since`): that may be the cause; it ends cancelled. Issuing it again
        //   could only use its number, which the program may have closed and reused since.
        // * It holds nothing and no such call was under way: its thread exited. POSIX requests
        //   outlive their thread, so it is issued again, by number (a known limit, see
        //   docs/ARCHITECTURE.md: holding a duplicate costs the fast path two `fstat`s and a
        //   `dup`, more than the request itself).
        //
        // A request that holds its file goes to the workers this time, not to the ring again:
        // only helper threads submit to a ring (`uring::may_submit`) and they never exit, so the
        // likelier cause is that io_uring could not run it at all (its io-wq cannot make a worker
        // while RLIMIT_NPROC is reached: the ring ended the same requests ECANCELED every time it
        // was given them, for as long as the limit stood; c-tests/nproc_after_start.c).
        let reissue = req.held().is_some() || (!m.stream() && !eng.fd_cancel_since(req.cancel_mark()));
        if reissue {
            if req.held().is_some() {
                req.set_backend(Backend::Threads);
            }
            // SAFETY: the reaper owns r, live and in no list.
            unsafe { q.defer(r) };
            q.wake();
            return;
        }
    }
    // SAFETY: the reaper owns r.
    unsafe { finish(eng, r, res, blocking) }
}

/// Whether a deferred buffered read (`Meta::nowait`, see `engine::deferred`) that ended with
/// `res` was not served by the page cache: EAGAIN (it would have waited), EOPNOTSUPP (the file
/// cannot read without waiting: then the kernel took nothing), or a short count (only the first
/// part was cached, or the file ends inside the request: the workers read it whole again and tell
/// the two apart). 0 is end of file: done.
fn missed(req: &Req<'_>, res: isize) -> bool {
    missed_as(req, req.meta(), res)
}

/// [`missed`], with the request's meta word `m` already read.
#[inline(always)]
fn missed_as(req: &Req<'_>, m: Meta, res: isize) -> bool {
    res == -(libc::EAGAIN as isize)
        || res == -(libc::EOPNOTSUPP as isize)
        || (res > 0 && (res as usize) < req.total_len_as(m))
}

/// [`finish`] of a deferred read the page cache served (`Meta::nowait`): such a request has,
/// by construction (`engine::deferred::defer`), nothing to notify, no lio group, no watch and no
/// stats, holds its file (a regular file's: no EBADF to tell apart, see `give_up_held`) and is
/// counted on its fd; so only what applies is done: publish, the fd's count, the hold (kept for
/// the next batch, `FdTable::release_holds`), the event counters.
///
/// # Safety
/// As [`finish`].
#[inline(always)]
unsafe fn finish_deferred(eng: &Engine, q: &Queue, r: ReqPtr, res: isize, blocking: bool) {
    // SAFETY: the caller owns r until publish.
    let req = unsafe { r.get() };
    let (m, fdn, held) = (req.meta(), req.fd(), req.held());
    debug_assert!(req.job().is_null() && req.group().is_null() && !m.watched());
    req.publish(res);
    match (eng.fds.get(fdn), held) {
        (Some(fe), Some(h)) => eng.fds.release_holds(fe, h, 1, blocking),
        (None, Some(h)) => sys::release(h),
        _ => {}
    }
    if let Some(fe) = eng.fds.get(fdn) {
        // A hit ends a run of misses (`inline::deferred_missed`).
        if fe.defer_misses.load(core::sync::atomic::Ordering::Relaxed) != 0 {
            fe.defer_misses.store(0, core::sync::atomic::Ordering::Relaxed);
        }
        fd::completed(eng, q.idx, fe, m, blocking);
    }
    eng.done.notify_all();
    q.done.notify_all();
}

/// Sends deferred read `r` (reaped, or not taken by `io_submit`; owned by the caller, in no list)
/// on to the workers, once: it no longer reads without waiting. It holds its file (see
/// `engine::deferred`), so no descriptor is needed now. `miss`: the page cache did not serve it
/// (not: the kernel AIO context had no slot for it); once several reads on its number missed in
/// a row (`inline::deferred_missed`), the next ones skip the page-cache attempt
/// (`inline::SKIP_AFTER_MISS`), so a cold file does not pay a useless `io_submit` per read, and
/// a cached file that lost a page does not send the reads after it to the workers. Where the
/// caller may not wait for a lock (a signal handler), the helper issues it.
#[cold]
#[inline(never)]
pub(crate) fn after_miss(eng: &Engine, q: &Queue, r: ReqPtr, blocking: bool, miss: bool) {
    // SAFETY: the caller owns r, live until finished.
    let req = unsafe { r.get() };
    if miss {
        if let Some(fe) = eng.fds.get(req.fd()) {
            super::inline::deferred_missed(fe);
        }
    }
    debug_assert!(req.held().is_some());
    req.set_meta(req.meta().without_nowait());
    req.set_backend(Backend::Threads);
    if !blocking {
        // SAFETY: the caller owns r, live and in no list.
        unsafe { q.defer(r) };
        q.wake();
        return;
    }
    let mut b = Batch::new(eng, true);
    // SAFETY: the caller owns r, which is in no list; it holds its file.
    unsafe { b.push(r) };
    b.flush();
}

/// Gives up the file a finishing request held (the kernel, if it ran the request, has its own
/// reference and is done with it), before the program can see the request done; returns the
/// result to publish. Out of line: the fast path holds nothing.
///
/// EBADF from a request that used its duplicate has two causes: the file itself refuses the
/// operation (its access mode: the request's result), or our number was closed (`closefrom`)
/// between our check and the system call, or before io_uring looked it up late (an fsync), and
/// the request never touched its file (ECANCELED). The duplicate's access mode, recorded when it
/// was made, tells them apart (`sys::held_refuses`); the number itself cannot, since by now it may
/// name another descriptor of the same file.
///
/// Any other error from a request whose duplicate is no longer ours when it finishes (the number
/// now names another file: `closefrom` took it, and the program opened something there between
/// our check and the system call, the window docs/ARCHITECTURE.md lists) came from that other
/// file, and a failed transfer moved nothing: the request never touched its file either
/// (ECANCELED), rather than reporting, say, ESPIPE from a pipe of the program's for a file write
/// (c-tests/stress.c saw one in CI). A transfer that succeeded there is not undone: that is the
/// window itself. One `fstat`, only on an error of a held request.
///
/// `keep`: the caller is a worker, which calls `Completions::idle` before it sleeps, so the last
/// release of a regular file's shared duplicate may be kept until then (`FdEntry::release_hold`).
#[cold]
#[inline(never)]
fn give_up_held(eng: &Engine, req: &Req<'_>, mut res: isize, keep: bool, checked: bool) -> isize {
    let Some(h) = req.take_held() else { return res };
    if res == -(libc::EBADF as isize) {
        let op = req.meta().op();
        let op = if op.is_sync() { None } else { Some(op.is_write()) };
        if !sys::held_refuses(h, op) {
            res = -(libc::ECANCELED as isize);
        }
    } else if res < 0 && res != -(libc::ECANCELED as isize) && !sys::held_ok(h) {
        res = -(libc::ECANCELED as isize);
    }
    let keep = keep && !req.meta().stream();
    if checked && !keep {
        eng.fds.release_hold_checked(req.fd(), h);
    } else {
        eng.fds.release_hold(req.fd(), h, keep);
    }
    res
}

/// Makes a request the helper is about to issue again hold its file; false if it finished it
/// instead (ECANCELED: it never touched its file).
///
/// Every request handed to the helper holds its file already, except two kinds that held nothing
/// because io_uring took the file when it was issued, inside its caller's call (see `handle`):
/// one io_uring cancelled when its thread exited, issued again by number (a known limit), and a
/// lone request that io_uring answered ESPIPE. The latter's file was a stream; the helper takes
/// the number's file now and accepts it only if it is a stream (a socket, pipe or character
/// device). What is not seen: the program closing that stream and opening another one at the
/// same number in between (a window of one hand-off to the helper, listed in
/// docs/ARCHITECTURE.md).
///
/// # Safety
/// The helper owns `r` (deferred to it), live and in no list.
pub(crate) unsafe fn ready_to_reissue(eng: &Engine, r: ReqPtr) -> bool {
    // SAFETY: the caller owns r, live until finished.
    let req = unsafe { r.get() };
    if req.held().is_some() || !req.meta().stream() {
        return true;
    }
    let fdn = req.fd();
    let held = eng.fds.entry(fdn).and_then(|fe| fe.hold(fdn)).ok();
    let stream = |h: sys::Held| {
        sys::file_id(h.fd()).is_ok_and(|id| matches!(id.format, libc::S_IFSOCK | libc::S_IFIFO | libc::S_IFCHR))
    };
    match held {
        Some(h) if stream(h) => {
            req.set_held(h);
            true
        }
        other => {
            if let Some(h) = other {
                eng.fds.release_hold(fdn, h, false);
            }
            // SAFETY: the caller owns r; nobody touches it after this.
            unsafe { finish(eng, r, -(libc::ECANCELED as isize), true) };
            false
        }
    }
}

/// Whether an ECANCELED completion answers an `aio_cancel` (rather than a thread's exit).
fn cancel_was_asked(eng: &Engine, r: ReqPtr) -> bool {
    // SAFETY: the reaper owns r, live until finished.
    let req = unsafe { r.get() };
    req.state().cancel_asked()
        || eng.fds.get(req.fd()).is_some_and(|fe| fe.cancelling.load(core::sync::atomic::Ordering::Acquire) != 0)
}

/// The stats column of a request being finished (in `state`, with `meta`, result `res`): the
/// engine that had it, or none (a request still `Idle` was done at submission: it failed there,
/// or it was a read served from the page cache on the caller's thread; one still `Waiting` on its
/// descriptor was cancelled before any engine had it).
fn served_by(state: State, meta: Meta, res: isize) -> Served {
    match state.phase() {
        // Done at submission: an error found there, or a read served from the page cache.
        Phase::Idle if res < 0 => Served::AtSubmission,
        Phase::Idle => Served::Caller,
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
pub(crate) unsafe fn finish(eng: &Engine, r: ReqPtr, res: isize, blocking: bool) {
    // SAFETY: the caller's contract.
    unsafe { finish_as(eng, r, res, blocking, false, true, false) }
}

/// [`finish`] of a claimed request right after its caller's non-blocking attempt, with that
/// attempt's result `res`. A transfer (`res` >= 0) was made through the held duplicate, found
/// still ours right before it, on this thread, with no sleep and no return to the program since:
/// the duplicate is given up without a second check (`sys::release_checked`). An error may mean
/// the duplicate was found lost, or closed under the call: its release checks it again.
///
/// # Safety
/// As [`finish`].
pub(crate) unsafe fn finish_attempted(eng: &Engine, r: ReqPtr, res: isize, blocking: bool) {
    // SAFETY: the caller's contract.
    unsafe { finish_as(eng, r, res, blocking, false, true, res >= 0) }
}

/// [`finish`], by a worker when `keep` (see `give_up_held`); without `wake`, the sleepers on the
/// event counters are left for the worker to wake later (`Completions::wake_waiters`, see
/// `Pool::hold_wake`).
///
/// # Safety
/// As [`finish`].
unsafe fn finish_as(eng: &Engine, r: ReqPtr, mut res: isize, blocking: bool, keep: bool, wake: bool, checked: bool) {
    // SAFETY: the caller owns r until publish.
    let req = unsafe { r.get() };
    let (m, fdn, job, group) = (req.meta(), req.fd(), req.job(), Group::from_member_tag(req.group()));
    let notify = Notify::validated(req.sigevent());
    if req.held().is_some() {
        res = give_up_held(eng, &req, res, keep, checked);
    }
    let qi = m.queue();
    let q = eng.queue(qi);
    let counted = q.stats.map(|s| (s, served_by(req.state(), m, res)));
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
    } else if m.queued() {
        // A completion queue's request (its sigevent reads as no notification): the job slot is
        // the entry reserved at submission (`cq::Node`), handed back here once (this call
        // is the request's one finish), after its status was published.
        // SAFETY: as just said.
        unsafe { notify::cq::complete(job.cast(), res) };
    }
    if !group.is_null() {
        // SAFETY: a group outlives its members' completions (it holds a reference for them).
        unsafe { Group::member_done(eng, group, res < 0, blocking) };
    }
    if wake {
        eng.done.notify_all();
        q.done.notify_all();
    }
}
