//! The worker-thread backend: per-queue pools that run requests with ordinary system calls.
//!
//! Each queue has its own work list and workers, so there is no global lock; workers are started
//! lazily (the first request on a queue starts one) and grow on demand to a bounded count.
//! Requests on non-seekable descriptors are not executed blindly: the worker first polls the fd
//! together with its own eventfd, so `aio_cancel` can take back a request that has not touched
//! the descriptor yet, and then transfers with `RWF_NOWAIT` so a lost race for the data means
//! polling again rather than blocking. Workers report what they finish to the `Completions` sink
//! they were started with.

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

use once_cell::sync::OnceCell;

use crate::abi::Aiocb;
use crate::engine::request::{Completion, Completions, List, Op, Phase, Req, ReqPtr, Span, State};
use crate::sys::{self, EventCount, EventFd, Lock, ThreadAttr};

/// The most workers one queue may have.
pub(crate) const MAX_WORKERS: usize = 64;

/// What a pool's workers need from the rest of the engine, handed to them at start.
#[derive(Clone, Copy)]
pub(crate) struct Host {
    /// Where finished requests go.
    pub(crate) sink: &'static dyn Completions,
    /// The queue's helper, which starts workers when a worker asks for one.
    pub(crate) helper: &'static EventFd,
    /// The queue's index (for thread names).
    pub(crate) queue: usize,
}

struct Worker {
    /// The request this worker polls for, if any (for `aio_cancel(fd, NULL)`).
    current: AtomicPtr<Aiocb>,
    /// Written by `aio_cancel` to interrupt this worker's poll (made by the worker at its start).
    evfd: OnceCell<EventFd>,
}

pub(crate) struct Pool {
    work: Lock<List>,
    ev: EventCount,
    idle: AtomicU32,
    count: AtomicU32,
    starting: AtomicU32,
    next_slot: AtomicU32,
    /// Set when the helper should start a worker.
    grow_wanted: AtomicU32,
    workers: Box<[Worker]>,
    limit: u32,
}

impl Pool {
    pub(crate) fn new(limit: u32) -> Pool {
        Pool {
            work: Lock::new(List::new()),
            ev: EventCount::new(),
            idle: AtomicU32::new(0),
            count: AtomicU32::new(0),
            starting: AtomicU32::new(0),
            next_slot: AtomicU32::new(0),
            grow_wanted: AtomicU32::new(0),
            workers: (0..MAX_WORKERS)
                .map(|_| Worker { current: AtomicPtr::new(ptr::null_mut()), evfd: OnceCell::new() })
                .collect(),
            limit: limit.clamp(1, MAX_WORKERS as u32),
        }
    }

    /// Queues `list` for the workers. Returns false (nothing queued) if `blocking` is false and the
    /// work lock is busy.
    pub(crate) fn push(&self, list: &mut List, blocking: bool) -> bool {
        let g = if blocking { Some(self.work.lock()) } else { self.work.try_lock() };
        let Some(mut g) = g else { return false };
        let n = list.len();
        while let Some(r) = list.pop_front() {
            // SAFETY: r is live and in flight (push's callers own what they queue); from here the
            // work list owns it.
            unsafe {
                r.get().queue_for_workers();
                g.push_back(r);
            }
        }
        drop(g);
        if n > 0 {
            self.ev.notify_all();
        }
        true
    }

    /// Whether another worker should be started (nobody idle, room left, work queued).
    fn wants_worker(&self) -> bool {
        self.idle.load(Relaxed) == 0
            && self.count.load(Relaxed) + self.starting.load(Relaxed) < self.limit
            && !self.work.try_lock().is_some_and(|g| g.is_empty())
    }

    /// Asks `helper` for another worker if work is queued and no worker is idle
    /// (async-signal-safe: an atomic store and an eventfd write).
    pub(crate) fn want_worker(&self, helper: &EventFd) {
        if self.wants_worker() && self.grow_wanted.swap(1, AcqRel) == 0 {
            helper.signal();
        }
    }

    /// Takes the request for another worker (the helper then calls [`Pool::grow`]).
    pub(crate) fn take_grow_request(&self) -> bool {
        self.grow_wanted.swap(0, AcqRel) != 0
    }

    /// Starts one worker if one is wanted; not async-signal-safe.
    pub(crate) fn grow(&'static self, host: Host) {
        if !self.wants_worker() {
            return;
        }
        // Each worker owns one slot of `workers`; slots are never reused, so the index is
        // unique even when two threads grow the pool at once.
        let idx = self.next_slot.fetch_add(1, AcqRel);
        if idx as usize >= MAX_WORKERS || idx >= self.limit {
            return;
        }
        self.starting.fetch_add(1, AcqRel);
        let name = format!("aio-rs-w{}.{idx}", host.queue);
        let ok = sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || self.worker_main(host, idx as usize));
        if ok.is_err() {
            self.starting.fetch_sub(1, AcqRel);
        }
    }

    /// Interrupts worker `w`'s poll.
    fn interrupt(&self, w: usize) {
        if let Some(e) = self.workers[w].evfd.get() {
            e.signal();
        }
    }

    /// `aio_cancel` of one request: removes it from the work list if it is there (then the caller
    /// owns it).
    pub(crate) fn remove_queued(&self, r: ReqPtr) -> bool {
        self.work.lock().remove(r)
    }

    /// `aio_cancel` of a request a worker polls for (`seen`, in `Polling`): takes it from the
    /// worker, which then finishes it as cancelled. False if its state moved meanwhile.
    pub(crate) fn take_from_poller(&self, req: &Req<'_>, seen: State) -> bool {
        if !req.take_from_poller(seen) {
            return false;
        }
        self.interrupt(seen.worker());
        true
    }

    /// `aio_cancel(fd, NULL)`: removes every queued request on `fd`; the caller owns them.
    pub(crate) fn take_queued_on_fd(&self, fd: c_int) -> List {
        self.work.lock().drain_filter(|r| {
            // SAFETY: members of the work list are live.
            unsafe { r.get() }.fd() == fd
        })
    }

    /// `aio_cancel(fd, NULL)`: takes every request on `fd` that a worker polls for (their workers
    /// finish them as cancelled). Also says whether one was caught in a transfer attempt (issued
    /// for the length of one system call: worth looking again after a yield).
    pub(crate) fn take_polling_on_fd(&self, fd: c_int) -> (Vec<ReqPtr>, bool) {
        let mut taken = Vec::new();
        let mut transient = false;
        // A worker clears its `current` under the work lock before it finishes the request, so
        // under that lock `current` is live.
        let _g = self.work.lock();
        for (w, wk) in self.workers.iter().enumerate() {
            let Some(r) = ReqPtr::new(wk.current.load(Acquire)) else { continue };
            // SAFETY: live while it is a worker's current request (see above).
            let req = unsafe { r.get() };
            if req.fd() != fd {
                continue;
            }
            let st = req.state();
            match st.phase() {
                Phase::Polling if req.take_from_poller(st) => {
                    self.interrupt(w);
                    taken.push(r);
                }
                Phase::Issued => transient = true,
                _ => {}
            }
        }
        (taken, transient)
    }

    /// Closes the workers' eventfds a forked child inherited.
    ///
    /// # Safety
    /// Nothing uses this pool afterwards.
    pub(crate) unsafe fn close_inherited(&self) {
        for w in self.workers.iter() {
            if let Some(e) = w.evfd.get() {
                // SAFETY: nothing uses this pool, so nothing uses its workers' eventfds (caller).
                unsafe { e.close() };
            }
        }
    }

    fn worker_main(&'static self, host: Host, w: usize) {
        if let Ok(e) = EventFd::new() {
            let _ = self.workers[w].evfd.set(e);
        }
        self.count.fetch_add(1, AcqRel);
        self.starting.fetch_sub(1, AcqRel);
        loop {
            let next = {
                let mut g = self.work.lock();
                let next = g.pop_front();
                if let Some(r) = next {
                    // Still under the work lock, so that `aio_cancel` finds the request either in
                    // the list or as this worker's current one: a stream request that has not
                    // touched its fd yet is Polling (cancellable), anything else is Issued.
                    // SAFETY: the request came off the work list, so it is live and ours to run.
                    let req = unsafe { r.get() };
                    let m = req.meta();
                    if m.stream() && !m.op().is_sync() {
                        self.workers[w].current.store(r.as_ptr(), Release);
                        req.start_polling(w);
                    } else {
                        req.issue();
                    }
                }
                next
            };
            if let Some(r) = next {
                let res = self.run(host, w, r);
                host.sink.complete(Completion::Request(r, res));
                continue;
            }
            self.idle.fetch_add(1, SeqCst);
            let ticket = self.ev.prepare();
            if self.work.lock().is_empty() {
                let _ = self.ev.wait(ticket, None);
            }
            self.ev.unprepare();
            self.idle.fetch_sub(1, SeqCst);
        }
    }

    /// Runs one request (Issued, or Polling for a stream) to its result: a count or `-errno`;
    /// `-ECANCELED` if it was cancelled before it touched the fd.
    fn run(&self, host: Host, w: usize, r: ReqPtr) -> isize {
        // SAFETY: the worker took r off the work list: it is live and the worker owns it until it
        // reports the completion.
        let req = unsafe { r.get() };
        let op = req.meta().op();
        let fd = req.fd();
        if req.meta().stream() && !op.is_sync() {
            return self.run_stream(host, w, &req, op, fd).unwrap_or(-(libc::ECANCELED as isize));
        }
        if op.is_vector() || req.meta().file_pos() {
            // -1: at the file position (`AIO_OP2_FOFFSET`), which the transfer advances.
            let off = if req.meta().file_pos() { -1 } else { req.offset() };
            // SAFETY: the caller's buffer or iovec array (and the memory it describes) stays valid
            // while the request is in flight (the contract of aio_readv/aio_writev/aio_read2).
            return unsafe { transfer(fd, op.is_write(), req.span(0), off, false) };
        }
        // SAFETY: the caller's buffer of aio_nbytes bytes stays valid while the request is in
        // flight (the POSIX contract of aio_read/aio_write).
        unsafe {
            match op {
                Op::Read | Op::Readv => sys::pread(fd, req.buf(), req.nbytes(), req.offset()),
                Op::Write | Op::Writev => sys::pwrite(fd, req.buf(), req.nbytes(), req.offset()),
                Op::Fsync => sys::fsync(fd),
                Op::Fdatasync => sys::fdatasync(fd),
            }
        }
    }

    /// Transfers without blocking, waiting for readiness in between. `None` means it was cancelled
    /// before touching the fd.
    ///
    /// The request arrives in phase Polling, in which `aio_cancel` may take it back (by moving it
    /// to Cancelling). Each transfer attempt is bracketed by Polling -> Issued -> Polling, so a
    /// request is reported uncancellable only while a system call on its fd is actually under way.
    /// Attempts use `RWF_NOWAIT` (an empty pipe answers EAGAIN without consuming anything, a
    /// wrong-direction fd answers its error at once); between them the worker polls the fd and its
    /// own eventfd. The worker has set `current` to the request.
    fn run_stream(&self, host: Host, w: usize, req: &Req<'_>, op: Op, fd: c_int) -> Option<isize> {
        let me = &self.workers[w];
        let evfd = me.evfd.get().map_or(-1, EventFd::raw);
        let read = op.is_read();
        let ev = if read { libc::POLLIN } else { libc::POLLOUT };
        let mut done: usize = 0;
        let mut nowait = true;
        let mut ready = true;
        let out = loop {
            if ready {
                // Claim the request for one attempt; failing means aio_cancel took it.
                if done == 0 && !req.claim_attempt(w) {
                    break None;
                }
                // SAFETY: the rest of the caller's buffer or iovec array (`Req::span`), valid while
                // in flight. Without RWF_NOWAIT (a tty, say) poll said ready, so this should not
                // wait long.
                let n = unsafe { transfer(fd, !read, req.span(done), -1, nowait) };
                if n >= 0 {
                    done += n as usize;
                    // A read returns what is there; a write, like write(2) on a blocking pipe,
                    // finishes everything (a vector from the entry and offset where it stopped).
                    if read || n == 0 || req.span(done).is_none() {
                        break Some(done as isize);
                    }
                } else {
                    match -n as i32 {
                        libc::EAGAIN | libc::EINTR => {}
                        // No non-blocking transfer on this file type: poll, then transfer.
                        libc::EOPNOTSUPP if nowait => nowait = false,
                        _ => break Some(if done > 0 { done as isize } else { n }),
                    }
                }
                // Nothing moved: the request is cancellable again while it waits.
                if done == 0 {
                    req.resume_polling(w);
                }
            }
            // This worker may now wait indefinitely: if work is queued behind it and nobody is
            // idle, have another worker started, or that work could wait for this very request (a
            // pipe write queued behind the read that waits for it).
            self.want_worker(host.helper);
            let mut pfd = [
                libc::pollfd { fd, events: ev, revents: 0 },
                libc::pollfd { fd: evfd, events: libc::POLLIN, revents: 0 },
            ];
            sys::poll(&mut pfd, -1);
            if pfd[1].revents != 0 {
                if let Some(e) = me.evfd.get() {
                    e.drain();
                }
            }
            if done == 0 && req.state().phase() == Phase::Cancelling {
                break None;
            }
            ready = pfd[0].revents != 0;
        };
        // Under the work lock: `aio_cancel(fd, NULL)` reads `current` under it (see there).
        {
            let _g = self.work.lock();
            me.current.store(ptr::null_mut(), Release);
        }
        out
    }
}

/// One transfer of `span` (what is left of a request) at `off` (-1: the file position, or a
/// stream): a byte count or `-errno`; 0 when nothing is left.
///
/// # Safety
/// The span describes the caller's memory, valid (writable for a read) for the call.
unsafe fn transfer(fd: c_int, write: bool, span: Option<Span>, off: i64, nowait: bool) -> isize {
    // SAFETY: the span describes valid memory (caller).
    unsafe {
        match span {
            Some(Span::Buf(b, len)) if off == -1 => sys::transfer(fd, !write, b, len, nowait),
            Some(Span::Buf(b, len)) => sys::transfer_one(fd, write, b, len, off, nowait),
            Some(Span::Vec(v, n)) => sys::transfer_vec(fd, write, v, n, off, nowait),
            None => 0,
        }
    }
}
