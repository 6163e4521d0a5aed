//! Requests gathered for issue, flushed with one system call per run of requests with the same
//! queue and backend: `io_uring_enter` under the ring's submission lock, `io_submit` (no lock), or
//! a push onto the queue's work list. What a backend will not take (AIO slots exhausted, a
//! rejected iocb, a ring error) falls back to the workers, or, in a context that may not wait for
//! a lock, to the queue's helper.
//!
//! A request that holds its caller's file (`Req::held`: it was parked, or is an fsync or a partial
//! stream write) is issued with that duplicate, checked first, and keeps it until it completes
//! (`complete::finish` gives it up): an fsync's descriptor is looked up by io_uring's own workers
//! only when they get to it, and a completion that answers EBADF is told apart from one whose
//! duplicate was taken from us (`closefrom`) only while the request still has it. A duplicate
//! that was taken from us before the issue sends the request to the workers, which end it with
//! ECANCELED without touching anything. A request the kernel would not take goes to the workers
//! holding its file, made now if it held none: only a request issued inside the call that
//! submitted it can hold none (every request issued later holds its file: `submit::accept`,
//! `complete::ready_to_reissue`), so the number still names its file.
//!
//! A request that goes to the workers instead of the kernel source it was bound for has moved:
//! whoever sleeps in the kernel on that source is woken (`Queue::wake_source`), since it may be
//! waiting for it (a parked fsync is slept on where it will be issued, see `wait`).

use core::mem::MaybeUninit;
use core::sync::atomic::Ordering::Relaxed;

use super::backend::threads::{First, Pushed};
use super::backend::uring;
use super::core::{get, Engine};
use super::fd::table::kind;
use super::queue::Queue;
use super::request::{Backend, Completion, Completions, List, Req, ReqPtr};
use crate::sys;

/// Reads in a row on one number that may find their data at once and keep its claimed-read hint
/// (`Batch::keep_claimed_hint`): a ping-pong's read finds its data there now and then, a stream
/// whose reader is slower than its writer, every time.
const READY_IN_A_ROW: u32 = 8;

pub(crate) struct Batch<'e> {
    eng: &'e Engine,
    /// False in contexts that must not wait for a lock (possibly a signal handler).
    blocking: bool,
    /// Made inside the call that submitted its requests (`Batch::submitting`): a new stream request
    /// for the workers gets its first attempt here (`Pool::first_attempt`).
    here: bool,
    list: List,
    /// Requests issued here that could not go on: nothing moved and no descriptor could be had to
    /// hold their file while they wait (see `Batch::hold_here`). Their submitter takes them back
    /// ([`Batch::take_refused`]).
    refused: List,
}

impl<'e> Batch<'e> {
    pub(crate) fn new(eng: &'e Engine, blocking: bool) -> Self {
        Batch { eng, blocking, here: false, list: List::new(), refused: List::new() }
    }

    /// A batch of requests submitted by the calling thread in this call (`aio_read`, `aio_write`,
    /// `lio_listio`), flushed before it returns.
    pub(crate) fn submitting(eng: &'e Engine) -> Self {
        Batch { eng, blocking: true, here: true, list: List::new(), refused: List::new() }
    }

    /// The requests flushed from this batch that their submitter must take back
    /// (`submit::take_back`) and fail with EAGAIN: only a batch made at submission has any.
    pub(crate) fn take_refused(&mut self) -> List {
        core::mem::replace(&mut self.refused, List::new())
    }

    /// Adds `r`, now issued.
    ///
    /// # Safety
    /// `r` is live, accepted, owned by the caller and in no list.
    pub(crate) unsafe fn push(&mut self, r: ReqPtr) {
        // SAFETY: the caller owns `r`, live, accepted and in no list: we may move its phase and
        // link it into our list.
        unsafe {
            let req = r.get();
            // A request for the workers is checked there, before its file is used.
            if req.held().is_some() && req.meta().backend() != Backend::Threads {
                lost_to_workers(self.eng, &req, self.blocking);
            }
            req.issue();
            self.list.push_back(r);
        }
    }

    /// Issues what was pushed (nothing to do, and no call, for an empty batch: a request served
    /// at submission, or parked on its fd).
    #[inline(always)]
    pub(crate) fn flush(&mut self) {
        if !self.list.is_empty() {
            self.flush_runs();
        }
    }

    #[inline(never)]
    fn flush_runs(&mut self) {
        // Uninitialised on purpose (zeroing it cost more than the rest of the submit path);
        // only the first `n` slots are read.
        let mut run = [MaybeUninit::<ReqPtr>::uninit(); 64];
        while let Some(first) = self.list.pop_front() {
            // SAFETY: members of the batch are live (push's contract).
            let m = unsafe { first.get() }.meta();
            run[0].write(first);
            let mut n = 1;
            while n < run.len() {
                match self.list.front() {
                    // SAFETY: members of the batch are live (push's contract); only the meta is read.
                    Some(r) if unsafe { r.get() }.meta().target() == m.target() => {
                        self.list.pop_front();
                        run[n].write(r);
                        n += 1;
                    }
                    _ => break,
                }
            }
            // SAFETY: the first n slots were written above; MaybeUninit<ReqPtr> has ReqPtr's
            // layout.
            let reqs = unsafe { core::slice::from_raw_parts(run.as_ptr() as *const ReqPtr, n) };
            self.issue(self.eng.queue(m.queue()), m.backend(), reqs);
        }
    }

    /// What `backend` would not take: a blocking context falls back to the workers (kernel AIO
    /// slots exhausted, a rejected iocb, or the ring died), holding the request's file; a
    /// non-blocking one leaves it to the helper (which issues it again).
    #[cold]
    #[inline(never)]
    fn fall_back(&self, q: &Queue, backend: Backend, reqs: &[ReqPtr]) {
        for &r in reqs {
            // SAFETY: not taken by the kernel: still live and ours.
            let req = unsafe { r.get() };
            if self.blocking || backend == Backend::Threads {
                if let Some(s) = q.stats {
                    s.fell_back();
                }
                if req.held().is_none() {
                    // Only inside the call that submitted it (see the module documentation): the
                    // number still names the request's file.
                    match self.eng.fds.entry(req.fd()).and_then(|fe| fe.hold(req.fd())) {
                        Ok(h) => req.set_held(h),
                        Err(e) => {
                            // No descriptor to hold the file with: nothing can run it.
                            // SAFETY: the Completions contract: r is ours, reported once.
                            self.eng.complete(Completion::Request(r, -(e.0 as isize)));
                            continue;
                        }
                    }
                }
                req.set_backend(Backend::Threads);
                let mut l = List::new();
                // SAFETY: r is live, ours (the backend did not take it) and in no list.
                unsafe { l.push_back(r) };
                if q.pool.push(&mut l, true, &q.bell) == Pushed::Unattended {
                    q.want_worker_if_needed();
                }
            } else {
                // SAFETY: r is live, ours (the backend did not take it) and in no list.
                unsafe { q.defer(r) };
                q.wake();
            }
        }
        if self.blocking && backend != Backend::Threads {
            // A waiter may have seen these requests bound for `backend` and gone to sleep there
            // (`wait::Wait::step`); their completions now come from the workers.
            self.eng.moved();
            q.wake_source(backend, true);
        }
    }

    /// Whether `r`'s descriptor was classified as a pipe or FIFO.
    fn fifo(&self, r: ReqPtr) -> bool {
        // SAFETY: r is live (push's contract); only its descriptor number is read.
        let fd = unsafe { r.get() }.fd();
        self.eng.fds.get(fd).is_some_and(|fe| fe.class_hint() & (kind::VALID | kind::FIFO) == kind::VALID | kind::FIFO)
    }

    /// Whether new stream request `r`, should it park, may be left unregistered for a while to the
    /// thread that submitted it, which will probably claim it in its next wait (see
    /// `ready::defer`): a read with nothing to notify and no lio group, on a number whose last
    /// parked read a waiter claimed (`FdEntry::claimed_last`, taken here): the value taken (0:
    /// not).
    fn for_its_waiter(&self, r: ReqPtr) -> u32 {
        // SAFETY: r is live (push's contract); only read.
        let req = unsafe { r.get() };
        let m = req.meta();
        if m.op().is_write() || m.watched() || m.queued() || !req.group().is_null() {
            return 0;
        }
        self.eng.fds.get(req.fd()).map_or(0, |fe| fe.claimed_last.swap(0, Relaxed))
    }

    /// Gives back the hint [`Batch::for_its_waiter`] took for `r` (`taken`, not 0), which finished
    /// at its first attempt without parking (`FdEntry::claimed_last`: the last read *parked* on the
    /// number was claimed), counting the reads that did so in a row: after [`READY_IN_A_ROW`] the
    /// hint is let go, so a stream whose reads keep finding their data there goes back to the
    /// cheaper class check of an idle pipe (`FdEntry::classify`). Before `r` is completed:
    /// afterwards it is the program's again.
    fn keep_claimed_hint(&self, r: ReqPtr, taken: u32) {
        if taken >= READY_IN_A_ROW {
            return;
        }
        // SAFETY: r is live and ours until completed (push's contract); only its number is read.
        let fd = unsafe { r.get() }.fd();
        if let Some(fe) = self.eng.fds.get(fd) {
            fe.claimed_last.store(taken + 1, Relaxed);
        }
    }

    /// Makes `req`, issued inside the call that submitted it (`here`: the number still names its
    /// file), hold its file if it does not yet; `-errno` if no descriptor can be had.
    /// `after_attempt`: its first attempt on the caller's number just found nothing to move (see
    /// `FdEntry::hold_classified`).
    fn hold_here(&self, req: &Req<'_>, after_attempt: bool) -> Result<(), isize> {
        debug_assert!(self.here);
        if req.held().is_some() {
            return Ok(());
        }
        let fd = req.fd();
        match self.eng.fds.entry(fd).and_then(|fe| fe.hold_classified(fd, after_attempt)) {
            Ok(h) => {
                req.set_held(h);
                Ok(())
            }
            Err(e) => Err(-(e.0 as isize)),
        }
    }

    fn issue(&mut self, q: &Queue, backend: Backend, reqs: &[ReqPtr]) {
        let taken = match backend {
            Backend::Uring => match &q.ring {
                // Only a helper thread enters a ring to submit (see `uring::may_submit`): anyone
                // else hands the requests to the queue's helper. Each holds its file
                // (`submit::accept`), so it may be issued after its caller returned.
                Some(_) if !uring::may_submit() => {
                    for &r in reqs {
                        // SAFETY: r is live, ours (push's contract) and in no list.
                        unsafe { q.defer(r) };
                    }
                    q.wake();
                    return;
                }
                // SAFETY: the requests are live and accepted (push's contract).
                Some(r) => q.kernel_issued(unsafe { r.submit(reqs, self.blocking) }),
                None => 0,
            },
            Backend::Kaio => match q.kaio() {
                Some(k) => {
                    // The queue's eventfd, checked now. One the program closed (`closefrom`) is
                    // made again here, inside the submitting call (a program thread, which may
                    // make our descriptors, see `Queue::refresh_fds`), rather than the requests
                    // sent to the workers, where they would hold a duplicate the next
                    // `closefrom` could take (ECANCELED for a request that was to hold nothing);
                    // and once more if it was lost between that check and the `io_submit`.
                    let mut n = 0;
                    for _ in 0..2 {
                        let fd = q.kaio_fd.current();
                        let Some(resfd) = fd.or_else(|| (self.here && self.blocking).then(|| q.kaio_fd.ensure())?)
                        else {
                            break;
                        };
                        // SAFETY: the requests are live and accepted (push's contract) and their
                        // buffers stay valid while in flight (POSIX).
                        n += unsafe { k.submit(&reqs[n..], resfd) };
                        if n == reqs.len() || !self.here || q.kaio_fd.current().is_some() {
                            break;
                        }
                    }
                    q.kernel_issued(n)
                }
                None => 0,
            },
            Backend::Threads => {
                let mut l = List::new();
                for &r in reqs {
                    // A new pipe or socket request is first tried right here, on the thread that
                    // submits it (see `threads::first`): a write that can go at once, or a read
                    // whose data is there, costs no hand-off. Only at submission: a request that
                    // a completion issues (the next of a chain) goes on as below, so completions
                    // never recurse.
                    // SAFETY: r is live (push's contract); only its meta word is read.
                    if self.here && unsafe { r.get() }.meta().stream() {
                        if let Some(e) = get() {
                            let q = e.queue(q.idx);
                            let hint = self.for_its_waiter(r);
                            let local = hint != 0;
                            // SAFETY: r is live, accepted, issued and in no list (push's contract),
                            // and we are inside the call that submitted it (`here`).
                            match unsafe {
                                q.pool.first_attempt(r, q.host(e), self.fifo(r), local, |req| self.hold_here(req, true))
                            } {
                                First::Done(n) => {
                                    // It never parked, so the number's last parked read is
                                    // still the one its waiter claimed: the hint `local` took
                                    // stands for the next read (a ping-pong's read often finds
                                    // its data already there; without this, the one after it
                                    // would register in the epoll set and be claimed back out).
                                    if local {
                                        self.keep_claimed_hint(r, hint);
                                    }
                                    // Finished here, once (nobody else has it): status, then notification.
                                    self.eng.complete(Completion::Request(r, n));
                                    continue;
                                }
                                First::Waits => continue,
                                First::Refused => {
                                    // SAFETY: r is live, ours and in no list.
                                    unsafe { self.refused.push_back(r) };
                                    continue;
                                }
                                First::Usual => {}
                            }
                        }
                    }
                    // A request for the workers holds its file; a new stream request made none
                    // before its first attempt (`submit::accept_engine`): it does now.
                    if self.here {
                        // SAFETY: r is live (push's contract); ours, so its held word is ours to set.
                        if self.hold_here(&unsafe { r.get() }, false).is_err() {
                            // Nothing of it was attempted: its submitter refuses it.
                            // SAFETY: r is live, ours and in no list.
                            unsafe { self.refused.push_back(r) };
                            continue;
                        }
                    }
                    // A pipe request waits for readiness without a worker (only where we may
                    // wait for a lock and allocate). Only a pipe or FIFO, whose readiness says
                    // what the first attempt would: an epoll or pidfd descriptor answers `read`
                    // with EINVAL and becomes readable only for what `read` cannot take, a
                    // listening socket answers ENOTCONN and is readable only with a connection.
                    // SAFETY: r is live, accepted and in no list (push's contract).
                    if self.blocking && self.fifo(r) {
                        if let Some(e) = get() {
                            let q = e.queue(q.idx);
                            // SAFETY: as above.
                            if unsafe { q.pool.park_new(r, q.host(e)) } {
                                continue;
                            }
                        }
                    }
                    // SAFETY: r is live and in no list.
                    unsafe { l.push_back(r) };
                }
                if l.is_empty() {
                    return;
                }
                match q.pool.push(&mut l, self.blocking, &q.bell) {
                    Pushed::Attended => reqs.len(),
                    // No worker will look at it: another is wanted.
                    Pushed::Unattended => {
                        match get() {
                            // A blocking context starts the worker itself (no hand-off); others
                            // ask the helper.
                            Some(e) if self.blocking => {
                                let q = e.queue(q.idx);
                                q.pool.grow(q.host(e));
                            }
                            _ => q.want_worker_if_needed(),
                        }
                        reqs.len()
                    }
                    Pushed::Busy => {
                        // Could not take the work lock in a non-blocking context.
                        while let Some(r) = l.pop_front() {
                            // SAFETY: r is live and ours; the helper takes it from here.
                            unsafe { q.defer(r) };
                        }
                        q.wake();
                        return;
                    }
                }
            }
        };
        if taken < reqs.len() {
            self.fall_back(q, backend, &reqs[taken..]);
        }
    }
}

/// A request whose held duplicate was taken from us goes to the workers, which end it with
/// ECANCELED without touching anything (the kernel would use the number, now another file's).
/// Out of line: the fast path holds nothing. The request has moved (a parked fsync may be slept
/// on where it was bound for): the source it left is woken. Asked only for a held request bound
/// elsewhere than the workers.
#[cold]
#[inline(never)]
fn lost_to_workers(eng: &Engine, req: &Req<'_>, blocking: bool) {
    let m = req.meta();
    if req.held().is_some_and(|h| !sys::held_ok(h)) {
        req.set_backend(Backend::Threads);
        eng.moved();
        eng.queue(m.queue()).wake_source(m.backend(), blocking);
    }
}
