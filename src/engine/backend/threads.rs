//! The worker-thread backend: per-queue pools that run requests with ordinary system calls.
//!
//! Each queue has its own work list and workers, so there is no global lock; workers are started
//! lazily (the first request on a queue starts one) and grow on demand to a bounded count. A
//! thread that cannot be created takes no slot: the helper tries again later, and meanwhile runs
//! queued file requests itself (`stranded`).
//!
//! Every request a worker runs holds its caller's open file (`Req::held`, made on the submitter's
//! thread): the worker uses that duplicate, checked before each transfer (`sys::held_ok`; up to
//! 50 µs before for a file's read or write, `sys::held_ok_recent`); a duplicate taken from us
//! (`closefrom`) makes the request end with ECANCELED if nothing was transferred yet.
//! Requests on non-seekable descriptors are not executed blindly: the worker first polls the fd
//! together with its own eventfd, so `aio_cancel` can take back a request that has not touched
//! the descriptor yet, and then transfers with `RWF_NOWAIT` so a lost race for the data means
//! polling again rather than blocking. Workers report what they finish to the `Completions` sink
//! they were started with. How work is handed to them (who wakes whom) is in `handoff`.
//!
//! But a pipe or socket request that finds its fd not ready waits in the pool's readiness set
//! (`ready`), served by one poller thread (`park`): pending streams cost no thread. Only a file
//! with no per-call non-blocking transfer (a FIFO, a tty) keeps a worker polling for it.

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use core::time::Duration;

use crate::abi::Aiocb;
use crate::engine::request::{Completions, List, Op, Phase, Req, ReqPtr, State};
use crate::errno::Errno;
use crate::sys::{self, Doorbell, Lock, OwnEventFd, ThreadAttr};

mod first;
mod handoff;
mod park;
pub(crate) use first::First;
mod ready;
mod stranded;
pub(crate) use handoff::{spin_for, Pushed, SPIN_SKIP};
use handoff::{HeldWakes, Work};
use ready::{attempt_ready, holds_its_file, iovecs, stream_transfer, transfer, Ready, Step, NO_IOVEC};

/// The most workers one queue may have.
pub(crate) const MAX_WORKERS: usize = 64;

/// What a pool's workers need from the rest of the engine, handed to them at start.
#[derive(Clone, Copy)]
pub(crate) struct Host {
    /// Where finished requests go.
    pub(crate) sink: &'static dyn Completions,
    /// The queue's helper, which starts workers when a worker asks for one.
    pub(crate) helper: &'static Doorbell,
    /// The queue's index (for thread names).
    pub(crate) queue: usize,
}

pub(super) struct Worker {
    /// The request this worker polls for, if any (for `aio_cancel(fd, NULL)`).
    current: AtomicPtr<Aiocb>,
    /// Written by `aio_cancel` to interrupt this worker's poll (made by the worker at its start;
    /// without it, or once it was taken from us, the poll's timeout bounds the delay).
    evfd: OwnEventFd,
    /// Requests this worker has finished (bumped after each one is published and its waiters
    /// told): `aio_cancel(fd, NULL)` waits on it rather than on a request the program may already
    /// have reaped and freed.
    pub(super) done: AtomicU32,
    /// The futex word this worker sleeps on: 0 while asleep, set to 1 by the one who wakes it
    /// (under the work lock, having taken it out of `Work::asleep` and counted it active).
    wake: AtomicU32,
}

/// How long a worker polls a stream at most before it looks again whether `aio_cancel` took its
/// request (the bound when its eventfd is missing or was taken from us).
const POLL_MS: c_int = 200;

/// A request taken from the worker polling for it: which worker, and its `done` count then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taken {
    worker: usize,
    done: u32,
}

/// How long a worker that goes idle keeps the files its requests held for the next requests on
/// them before it lets go of them (see `Completions::idle`) and sleeps for good.
const KEEP: Duration = Duration::from_millis(2);

pub(crate) struct Pool {
    work: Lock<Work>,
    /// Requests finished by this pool's workers (the stall check compares it).
    progress: AtomicU32,
    /// Non-zero while a stall check is armed for the helper; `stall_mark` is `progress` and
    /// `stall_at` the time (ns, CLOCK_MONOTONIC) when it was armed.
    stall: AtomicU32,
    stall_mark: AtomicU32,
    stall_at: AtomicU64,
    /// Active workers inside a request (from taking it until its transfer is over, a wait on a
    /// stream aside): the others are about to look at the list.
    running: AtomicU32,
    count: AtomicU32,
    starting: AtomicU32,
    next_slot: AtomicU32,
    /// Set when the helper should start a worker.
    grow_wanted: AtomicU32,
    /// Serialises starting workers (a slot is taken only once its thread was created).
    growing: Lock<()>,
    /// Non-zero when some worker lacks its eventfd (made by the next AIO call).
    fds_wanted: AtomicU32,
    workers: Box<[Worker]>,
    limit: u32,
    /// Stream requests waiting for readiness without a worker.
    ready: Ready,
    /// Non-zero once the poller thread (which serves `ready`) was started.
    poller: AtomicU32,
    /// Workers between their `current` request and the readiness set (see `run_stream`).
    parking: AtomicU32,
    /// Requests waiters claimed from the readiness set and hold (`aio_cancel` waits for them).
    claims: AtomicU32,
    /// Bumped under the work lock by every hand-off of new work (see `Pool::await_push`).
    pushes: AtomicU32,
    /// Idle periods left to sleep through without spinning (see `Pool::await_push`).
    spin_skip: AtomicU32,
    /// Non-zero while the last file request a worker of this pool ran took less than `QUICK`
    /// (see `Pool::timed`).
    quick: AtomicU32,
    /// Workers holding back wake-ups (see `Pool::hold_wake`).
    holding: AtomicU32,
    /// Non-zero once a thread could not be created, until the helper looked (`stranded.rs`).
    stranded: AtomicU32,
}

/// What running a request came to: its result (a count or `-errno`), or parked in the readiness
/// set (the poller finishes it).
enum Ran {
    Done(isize),
    Parked,
}

impl Pool {
    pub(crate) fn new(limit: u32) -> Pool {
        Pool {
            work: Lock::new(Work { list: List::new(), active: 0, asleep: 0 }),
            progress: AtomicU32::new(0),
            stall: AtomicU32::new(0),
            stall_mark: AtomicU32::new(0),
            stall_at: AtomicU64::new(0),
            running: AtomicU32::new(0),
            count: AtomicU32::new(0),
            starting: AtomicU32::new(0),
            next_slot: AtomicU32::new(0),
            grow_wanted: AtomicU32::new(0),
            growing: Lock::new(()),
            fds_wanted: AtomicU32::new(0),
            workers: (0..MAX_WORKERS)
                .map(|_| Worker {
                    current: AtomicPtr::new(ptr::null_mut()),
                    evfd: OwnEventFd::new(),
                    done: AtomicU32::new(0),
                    wake: AtomicU32::new(0),
                })
                .collect(),
            limit: limit.clamp(1, MAX_WORKERS as u32),
            ready: Ready::new(),
            poller: AtomicU32::new(0),
            parking: AtomicU32::new(0),
            claims: AtomicU32::new(0),
            pushes: AtomicU32::new(0),
            spin_skip: AtomicU32::new(0),
            quick: AtomicU32::new(0),
            holding: AtomicU32::new(0),
            stranded: AtomicU32::new(0),
        }
    }

    /// Queues `list` for the workers, and wakes one sleeping worker if no worker is active (at most
    /// one wake-up per push, none while a worker will look at the list anyway); if every active
    /// worker is inside a request, arms the stall check (through `helper`), in case they block.
    /// [`Pushed::Busy`] (nothing queued) if `blocking` is false and the work lock is busy.
    /// Async-signal-safe when not `blocking`.
    pub(crate) fn push(&self, list: &mut List, blocking: bool, helper: &Doorbell) -> Pushed {
        let g = if blocking { Some(self.work.lock()) } else { self.work.try_lock() };
        let Some(mut g) = g else { return Pushed::Busy };
        while let Some(r) = list.pop_front() {
            // SAFETY: r is live and in flight (push's callers own what they queue); from here the
            // work list owns it.
            unsafe {
                r.get().queue_for_workers();
                g.list.push_back(r);
            }
        }
        self.hand_off(g, helper)
    }

    /// Whether another worker should be started: work is queued, no worker will look at it
    /// (none active, none asleep to be woken) and there is room. `blocking`: wait for the work
    /// lock; otherwise a busy lock answers yes (the helper, asked, looks again with the lock).
    fn wants_worker(&self, blocking: bool) -> bool {
        if self.count.load(Relaxed) + self.starting.load(Relaxed) >= self.limit {
            return false;
        }
        let g = if blocking { Some(self.work.lock()) } else { self.work.try_lock() };
        g.is_none_or(|g| g.active == 0 && g.asleep == 0 && !g.list.is_empty())
    }

    /// Asks `helper` for another worker if work is queued and no worker will look at it
    /// (async-signal-safe: a try-lock, an atomic store and a doorbell).
    pub(crate) fn want_worker(&self, helper: &Doorbell) {
        if self.wants_worker(false) && self.grow_wanted.swap(1, AcqRel) == 0 {
            helper.ring();
        }
    }

    /// Whether work is queued and there is no worker at all (one could not be started): the
    /// helper tries again.
    pub(crate) fn starved(&self) -> bool {
        self.count.load(Acquire) + self.starting.load(Acquire) == 0 && !self.work.lock().list.is_empty()
    }

    /// Takes the request for another worker (the helper then calls [`Pool::grow`]).
    pub(crate) fn take_grow_request(&self) -> bool {
        self.grow_wanted.swap(0, AcqRel) != 0
    }

    /// Starts one worker if one is wanted (or the pool has none while work waits); not
    /// async-signal-safe.
    pub(crate) fn grow(&'static self, host: Host) {
        if self.wants_worker(true) || self.starved() {
            self.start_one(host, false);
        }
    }

    /// Starts one worker if there is room; false if there is none or the thread could not be
    /// created (then no slot was used: a later attempt may succeed). On a program thread
    /// (`program`) the worker's eventfd is made first; otherwise the next AIO call makes it.
    fn start_one(&'static self, host: Host, program: bool) -> bool {
        // Each worker owns one slot of `workers`, taken under `growing` and only once its thread
        // exists; workers never exit, so slots are never reused.
        let _g = self.growing.lock();
        let idx = self.next_slot.load(Acquire);
        if idx as usize >= MAX_WORKERS || idx >= self.limit {
            return false;
        }
        if program {
            let _ = self.workers[idx as usize].evfd.ensure();
        }
        self.starting.fetch_add(1, AcqRel);
        // A worker starting looks at the list: it counts as active from now.
        self.work.lock().active += 1;
        let name = format!("aio-rs-w{}.{idx}", host.queue);
        if sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || self.worker_main(host, idx as usize)).is_err() {
            self.work.lock().active -= 1;
            self.starting.fetch_sub(1, AcqRel);
            self.stranded_now(host);
            return false;
        }
        self.next_slot.store(idx + 1, Release);
        true
    }

    /// Interrupts worker `w`'s poll.
    fn interrupt(&self, w: usize) {
        self.workers[w].evfd.signal();
    }

    /// `aio_cancel` of one request: removes it from the work list if it is there (then the caller
    /// owns it).
    /// Parked in the readiness set counts as queued (what it gives back meanwhile is requeued,
    /// with `helper`).
    pub(crate) fn remove_queued(&self, r: ReqPtr, helper: &Doorbell) -> bool {
        if self.work.lock().list.remove(r) {
            return true;
        }
        let mut orphans = List::new();
        let took = self.ready.remove(r, &mut orphans);
        self.requeue(orphans, helper);
        took
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

    /// `aio_cancel(fd, NULL)`: removes every queued request on `fd` that has transferred nothing,
    /// from the work list and the readiness set; the caller owns them (what the set gives back
    /// meanwhile is requeued, with `helper`).
    pub(crate) fn take_queued_on_fd(&self, fd: c_int, helper: &Doorbell) -> List {
        let mut l = self.work.lock().list.drain_filter(|r| {
            // SAFETY: members of the work list are live.
            let req = unsafe { r.get() };
            req.fd() == fd && req.state().phase() == Phase::Queued
        });
        let mut orphans = List::new();
        l.append(self.ready.take_on_fd(fd, &mut orphans));
        self.requeue(orphans, helper);
        l
    }

    /// `aio_cancel(fd, NULL)`: takes every request on `fd` that a worker polls for (their workers
    /// finish them as cancelled; wait for that with [`Pool::finished`], never through the request,
    /// which the program may reap and free as soon as it is finished). Also says whether one was
    /// caught in a transfer attempt (issued for the length of one system call: worth looking again
    /// after a yield).
    pub(crate) fn take_polling_on_fd(&self, fd: c_int) -> (Vec<Taken>, bool) {
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
                    // Read under the work lock, before the worker can finish the request.
                    taken.push(Taken { worker: w, done: wk.done.load(Acquire) });
                    self.interrupt(w);
                }
                Phase::Issued => transient = true,
                _ => {}
            }
        }
        (taken, transient || self.parking.load(Acquire) != 0 || self.claims.load(Acquire) != 0)
    }

    /// Whether the worker of `t` has finished the request taken from it.
    pub(crate) fn finished(&self, t: Taken) -> bool {
        self.workers[t.worker].done.load(Acquire) != t.done
    }

    /// Closes the workers' eventfds a forked child inherited (those still ours).
    ///
    /// # Safety
    /// Nothing uses this pool afterwards.
    pub(crate) unsafe fn close_inherited(&self) {
        for w in self.workers.iter() {
            w.evfd.close_inherited();
        }
        self.ready.epoll().close_inherited();
    }

    /// Whether some worker has no eventfd, or the readiness set no epoll instance (it could not be
    /// made, or was lost): two loads.
    pub(crate) fn fds_wanted(&self) -> bool {
        self.fds_wanted.load(Acquire) != 0 || self.ready.epoll().wanted()
    }

    /// Makes the eventfds workers lack and the readiness set's epoll instance (program threads
    /// only: see `sys::OwnEventFd`).
    pub(crate) fn make_fds(&self) {
        if self.ready.epoll().wanted() {
            let _ = self.ready.epoll().ensure();
        }
        self.fds_wanted.store(0, Release);
        let n = (self.next_slot.load(Acquire) as usize).min(MAX_WORKERS);
        for w in &self.workers[..n] {
            if w.evfd.wanted() && w.evfd.ensure().is_none() {
                self.fds_wanted.store(1, Release);
            }
        }
    }

    fn worker_main(&'static self, host: Host, w: usize) {
        let me = &self.workers[w];
        if me.evfd.wanted() {
            self.fds_wanted.store(1, Release);
        }
        self.count.fetch_add(1, AcqRel);
        self.starting.fetch_sub(1, AcqRel);
        // Whether files left held by this worker's finished requests were let go of since it
        // last finished one (see `Completions::idle`).
        let mut let_go = true;
        // Whether this worker may spin before it sleeps (once per idle period, see `await_push`).
        let mut may_spin = self.spin();
        let mut held = HeldWakes::default();
        loop {
            let mut g = self.work.lock();
            let Some(r) = g.list.pop_front() else {
                if held.list_empty() {
                    drop(g); // wake them before looking for work that may not come
                    self.wake_held(&mut held, host);
                    continue;
                }
                if may_spin {
                    // Still counted active, so a push wakes nobody: it is seen here, or in the list
                    // when this worker looks again.
                    may_spin = false;
                    let seen = self.pushes.load(Relaxed);
                    drop(g);
                    self.await_push(seen);
                    continue;
                }
                // Asleep until someone takes this worker out of `asleep` (and counts it active);
                // while files are kept for the next requests, for `KEEP` at most.
                g.active -= 1;
                g.asleep |= 1 << w;
                me.wake.store(0, Relaxed);
                drop(g);
                let timeout = if let_go { None } else { Some(KEEP) };
                while me.wake.load(Acquire) == 0 {
                    if sys::futex_wait(&me.wake, 0, timeout) == Err(Errno::EAGAIN) && timeout.is_some() {
                        break;
                    }
                }
                if me.wake.load(Acquire) == 0 {
                    let mut g = self.work.lock();
                    if me.wake.load(Acquire) == 0 {
                        // Nobody came: awake again on its own, let go of what finished requests
                        // kept (system calls, so without the lock), then look again.
                        g.asleep &= !(1 << w);
                        g.active += 1;
                        drop(g);
                        host.sink.idle();
                        let_go = true;
                    }
                }
                continue;
            };
            // Still under the work lock, so that `aio_cancel` finds the request either in the list
            // or as this worker's current one: a stream request that has not touched its fd yet is
            // Polling (cancellable), anything else is Issued.
            // SAFETY: the request came off the work list, so it is live and ours to run.
            let req = unsafe { r.get() };
            let m = req.meta();
            if m.stream() && !m.op().is_sync() && req.progress() == 0 {
                me.current.store(r.as_ptr(), Release);
                req.start_polling(w);
            } else {
                req.issue();
            }
            let more = !g.list.is_empty();
            self.running.fetch_add(1, AcqRel);
            drop(g);
            self.before_run(&mut held, host, more && !m.stream() && !m.op().is_sync());
            if more {
                // Work is still queued behind the request this worker took, which may block in the
                // kernel for as long as it likes (a write waiting for its source page or the inode
                // lock): have the helper look whether the pool still makes progress in a while.
                self.arm_stall(host.helper);
            }
            // A stream's request waits for its peer, never worth a spin; a file's is timed.
            let t0 = self.started(&mut held, !m.stream());
            let ran = self.run(host, w, r, t0);
            may_spin = t0 != Duration::ZERO && self.timed(&mut held, t0);
            // Before the request is published: a push its completion causes finds this worker
            // about to look at the list.
            self.running.fetch_sub(1, AcqRel);
            let Ran::Done(res) = ran else {
                // Parked in the readiness set (the poller finishes it): this worker is free again,
                // which the stall check counts as progress.
                self.progress.fetch_add(1, Release);
                continue;
            };
            let hold = self.hold_wake(&mut held, more, may_spin, t0);
            self.report(host, me, r, res, hold);
            let_go = false;
        }
    }

    /// Runs one request (Issued, or Polling for a stream) to its result: a count or `-errno`;
    /// `-ECANCELED` if it was cancelled before it touched the fd.
    fn run(&'static self, host: Host, w: usize, r: ReqPtr, t0: Duration) -> Ran {
        // SAFETY: the worker took r off the work list: it is live and the worker owns it until it
        // reports the completion.
        let req = unsafe { r.get() };
        let op = req.meta().op();
        let fd = req.target_fd();
        if req.meta().stream() && !op.is_sync() {
            return self.run_stream(host, w, r, op, fd).unwrap_or(Ran::Done(-(libc::ECANCELED as isize)));
        }
        if !req.held().is_none_or(|h| if op.is_sync() { sys::held_ok(h) } else { sys::held_ok_recent(h, t0) }) {
            return Ran::Done(-(libc::ECANCELED as isize));
        }
        if op.is_vector() || req.meta().file_pos() {
            // -1: at the file position (`AIO_OP2_FOFFSET`), which the transfer advances (a held
            // duplicate shares the caller's open file, so its position too).
            let off = if req.meta().file_pos() { -1 } else { req.offset() };
            // SAFETY: the caller's buffer or iovec array (and the memory it describes) stays valid
            // while the request is in flight (the contract of aio_readv/aio_writev/aio_read2).
            return Ran::Done(unsafe { transfer(fd, op.is_write(), req.span(0), off, false) });
        }
        // SAFETY: the caller's buffer of aio_nbytes bytes stays valid while the request is in
        // flight (the POSIX contract of aio_read/aio_write).
        Ran::Done(unsafe {
            match op {
                Op::Read | Op::Readv => sys::pread(fd, req.buf(), req.nbytes(), req.offset()),
                Op::Write | Op::Writev => sys::pwrite(fd, req.buf(), req.nbytes(), req.offset()),
                Op::Fsync => sys::fsync(fd),
                Op::Fdatasync => sys::fdatasync(fd),
            }
        })
    }

    /// Transfers without blocking, waiting for readiness in between. `None` means it was cancelled
    /// before touching the fd.
    ///
    /// The request arrives in phase Polling, in which `aio_cancel` may take it back (by moving it
    /// to Cancelling), unless it wrote part already (handed back by the readiness set: Issued).
    /// Each transfer attempt is bracketed by Polling -> Issued -> Polling, so a request is
    /// reported uncancellable only while a system call on its fd is actually under way. Attempts
    /// are non-blocking (`stream_transfer`: an empty pipe answers EAGAIN without consuming
    /// anything, a wrong-direction fd answers its error at once). A request that found nothing
    /// is parked in the readiness set if it can wait there (`Ran::Parked`: the poller finishes
    /// it); otherwise (a FIFO or tty, no epoll instance) this worker polls the fd and its own
    /// eventfd between attempts. The worker has set `current` to the request if it is Polling.
    fn run_stream(&'static self, host: Host, w: usize, r: ReqPtr, op: Op, fd: c_int) -> Option<Ran> {
        // SAFETY: the worker took r off the work list: live and ours until it is reported.
        let req = &unsafe { r.get() };
        let me = &self.workers[w];
        let read = op.is_read();
        let ev = if read { libc::POLLIN } else { libc::POLLOUT };
        let mut done: usize = req.progress();
        let mut nowait = true;
        let mut ready = true;
        let out = loop {
            if ready {
                // Claim the request for one attempt; failing means aio_cancel took it.
                if done == 0 && !req.claim_attempt(w) {
                    break None;
                }
                if !holds_its_file(req) {
                    break if done > 0 { Some(done as isize) } else { None };
                }
                // SAFETY: the rest of the caller's buffer or iovec array (`Req::span`), valid while
                // in flight. Without a non-blocking way (a tty, say) poll said ready, so this
                // should not wait long.
                let n = unsafe { stream_transfer(fd, !read, req.span(done), nowait) };
                if n >= 0 {
                    done += n as usize;
                    // A read returns what is there; a write, like write(2) on a blocking pipe,
                    // finishes everything (a vector from the entry and offset where it stopped).
                    if read || n == 0 || req.span(done).is_none() {
                        break Some(done as isize);
                    }
                    if nowait {
                        continue;
                    }
                } else {
                    match -n as i32 {
                        libc::EAGAIN if nowait => {
                            // Not ready: wait in the readiness set rather than here, if it can.
                            if self.park_from_worker(host, me, r, done) {
                                return Some(Ran::Parked);
                            }
                        }
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
            // This worker may now wait indefinitely: work queued behind it goes to another worker
            // (woken, or started), or it could wait for this very request (a pipe write queued
            // behind the read that waits for it).
            self.step_aside(host.helper);
            let evfd = me.evfd.current().unwrap_or_else(|| {
                self.fds_wanted.store(1, Release);
                -1
            });
            let mut pfd = [
                libc::pollfd { fd, events: ev, revents: 0 },
                libc::pollfd { fd: evfd, events: libc::POLLIN, revents: 0 },
            ];
            sys::poll(&mut pfd, POLL_MS);
            self.step_back();
            if pfd[1].revents != 0 {
                me.evfd.drain();
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
        out.map(Ran::Done)
    }
}
