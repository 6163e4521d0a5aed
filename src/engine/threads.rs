//! The worker-thread backend: per-queue pools that run requests with ordinary system calls.
//!
//! Each queue has its own work list and workers, so there is no global lock; workers are started
//! lazily (the first request on a queue starts one) and grow on demand to a bounded count.
//! Requests on non-seekable descriptors are not executed blindly: the worker first polls the fd
//! together with its own eventfd, so `aio_cancel` can take back a request that has not touched
//! the descriptor yet, and then transfers with `RWF_NOWAIT` so a lost race for the data means
//! polling again rather than blocking.

use core::ffi::c_int;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

use once_cell::sync::OnceCell;

use super::cb::{meta, phase, Cb, List, Op};
use super::{finish, Engine, Queue};
use crate::sys::{self, EventCount, EventFd, Lock, ThreadAttr};

/// The most workers one queue may have.
pub(crate) const MAX_WORKERS: usize = 64;

pub struct Worker {
    /// The request this worker polls for, if any (for `aio_cancel(fd, NULL)`).
    pub current: AtomicPtr<crate::abi::Aiocb>,
    /// Written by `aio_cancel` to interrupt this worker's poll (made by the worker at its start).
    pub evfd: OnceCell<EventFd>,
}

pub struct Pool {
    pub work: Lock<List>,
    ev: EventCount,
    idle: AtomicU32,
    pub count: AtomicU32,
    starting: AtomicU32,
    next_slot: AtomicU32,
    pub workers: Box<[Worker]>,
    pub limit: u32,
}

impl Pool {
    pub fn new(limit: u32) -> Pool {
        Pool {
            work: Lock::new(List::new()),
            ev: EventCount::new(),
            idle: AtomicU32::new(0),
            count: AtomicU32::new(0),
            starting: AtomicU32::new(0),
            next_slot: AtomicU32::new(0),
            workers: (0..MAX_WORKERS)
                .map(|_| Worker { current: AtomicPtr::new(core::ptr::null_mut()), evfd: OnceCell::new() })
                .collect(),
            limit: limit.clamp(1, MAX_WORKERS as u32),
        }
    }

    /// Queues `list` for the workers. Returns false (nothing queued) if `blocking` is false and the
    /// work lock is busy.
    pub fn push(&self, list: &mut List, blocking: bool) -> bool {
        let g = if blocking { Some(self.work.lock()) } else { self.work.try_lock() };
        let Some(mut g) = g else { return false };
        let n = list.len;
        while let Some(cb) = list.pop_front() {
            // SAFETY: cb is live, in flight and now owned by the work list.
            unsafe {
                cb.state().store(phase::QUEUED, Release);
                g.push_back(cb);
            }
        }
        drop(g);
        if n > 0 {
            self.ev.notify_all();
        }
        true
    }

    /// Whether another worker should be started (nobody idle, room left).
    pub fn wants_worker(&self) -> bool {
        self.idle.load(Relaxed) == 0
            && self.count.load(Relaxed) + self.starting.load(Relaxed) < self.limit
            && !self.work.try_lock().is_some_and(|g| g.is_empty())
    }

    /// Starts one worker if `wants_worker`; not async-signal-safe.
    pub fn grow(&self, eng: &'static Engine, q: usize) {
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
        let name = format!("aio-rs-w{q}.{idx}");
        let ok = sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || worker_main(eng, q, idx as usize));
        if ok.is_err() {
            self.starting.fetch_sub(1, AcqRel);
        }
    }

    /// Interrupts the worker polling for `cb` (its state is already CANCELLING).
    pub fn interrupt(&self, w: usize) {
        if let Some(e) = self.workers[w].evfd.get() {
            e.signal();
        }
    }
}

fn worker_main(eng: &'static Engine, qi: usize, w: usize) {
    let q = eng.queue(qi);
    let pool = &q.pool;
    if let Ok(e) = EventFd::new() {
        let _ = pool.workers[w].evfd.set(e);
    }
    pool.count.fetch_add(1, AcqRel);
    pool.starting.fetch_sub(1, AcqRel);
    loop {
        let next = {
            let mut g = pool.work.lock();
            let next = g.pop_front();
            if let Some(cb) = next {
                // Still under the work lock, so that `aio_cancel` finds the request either in
                // the list or as this worker's current one: a stream request that has not
                // touched its fd yet is POLLING (cancellable), anything else is ISSUED.
                // SAFETY: the request came off the work list, so it is live and ours to run.
                unsafe {
                    let m = cb.meta().load(Relaxed);
                    if m & meta::STREAM != 0 && !Op::from_bits(m).is_sync() {
                        pool.workers[w].current.store(cb.0, Release);
                        cb.state().store(phase::POLLING | ((w as u32) << 8), Release);
                    } else {
                        cb.state().store(phase::ISSUED, Release);
                    }
                }
            }
            next
        };
        if let Some(cb) = next {
            // SAFETY: as above.
            unsafe { run(eng, q, w, cb) };
            continue;
        }
        pool.idle.fetch_add(1, SeqCst);
        let ticket = pool.ev.prepare();
        if pool.work.lock().is_empty() {
            let _ = pool.ev.wait(ticket, None);
        }
        pool.ev.unprepare();
        pool.idle.fetch_sub(1, SeqCst);
    }
}

/// Runs one request to completion.
///
/// # Safety
/// `cb` is live and in state ISSUED, owned by this worker.
unsafe fn run(eng: &Engine, q: &Queue, w: usize, cb: Cb) {
    // SAFETY: cb is live and unmodified while in flight.
    let (m, a) = unsafe { (cb.meta().load(Relaxed), &*cb.0) };
    let op = Op::from_bits(m);
    let fd = a.aio_fildes;
    let res = if m & meta::STREAM != 0 && !op.is_sync() {
        // SAFETY: forwarded.
        match unsafe { run_stream(q, w, cb, op, fd, a.aio_buf as *mut u8, a.aio_nbytes) } {
            Some(r) => r,
            None => {
                // SAFETY: cancelled before touching the fd; we still own it.
                unsafe { finish(eng, cb, -(libc::ECANCELED as isize), true) };
                return;
            }
        }
    } else {
        // SAFETY: the caller's buffer of aio_nbytes bytes stays valid while the request is in
        // flight (the POSIX contract of aio_read/aio_write).
        unsafe {
            match op {
                Op::Read => sys::pread(fd, a.aio_buf.cast(), a.aio_nbytes, a.aio_offset),
                Op::Write => sys::pwrite(fd, a.aio_buf.cast(), a.aio_nbytes, a.aio_offset),
                Op::Fsync => sys::fsync(fd),
                Op::Fdatasync => sys::fdatasync(fd),
            }
        }
    };
    // SAFETY: we own cb until finish publishes it.
    unsafe { finish(eng, cb, res, true) };
}

/// Transfers without blocking, waiting for readiness in between. `None` means it was cancelled
/// before touching the fd.
///
/// The request arrives in state POLLING, in which `aio_cancel` may take it back (by moving it to
/// CANCELLING). Each transfer attempt is bracketed by POLLING -> ISSUED -> POLLING, so a request
/// is reported uncancellable only while a system call on its fd is actually under way. Attempts
/// use `RWF_NOWAIT` (an empty pipe answers EAGAIN without consuming anything, a wrong-direction
/// fd answers its error at once); between them the worker polls the fd and its own eventfd.
///
/// # Safety
/// As `run`; the worker has set `current` to `cb`.
unsafe fn run_stream(q: &Queue, w: usize, cb: Cb, op: Op, fd: c_int, buf: *mut u8, len: usize) -> Option<isize> {
    let me = &q.pool.workers[w];
    let evfd = me.evfd.get().map_or(-1, EventFd::raw);
    let ev = if op == Op::Read { libc::POLLIN } else { libc::POLLOUT };
    let polling = phase::POLLING | ((w as u32) << 8);
    // SAFETY: cb is live (caller).
    let st = unsafe { cb.state() };
    let mut done: usize = 0;
    let mut nowait = true;
    let mut ready = true;
    let out = loop {
        if ready {
            // Claim the request for one attempt; failing means aio_cancel took it.
            if done == 0 && st.compare_exchange(polling, phase::ISSUED, AcqRel, Acquire).is_err() {
                break None;
            }
            // SAFETY: done <= len: the rest of the caller's buffer, valid while in flight. Without
            // RWF_NOWAIT (a tty, say) poll said ready, so this should not wait long.
            let n = unsafe { sys::transfer(fd, op == Op::Read, buf.add(done), len - done, nowait) };
            if n >= 0 {
                done += n as usize;
                // A read returns what is there; a write, like write(2) on a blocking pipe,
                // finishes everything.
                if op == Op::Read || done == len || n == 0 {
                    break Some(done as isize);
                }
            } else {
                match -n as i32 {
                    libc::EAGAIN | libc::EINTR => {}
                    // No non-blocking transfer on this file type: poll, then transfer.
                    libc::EOPNOTSUPP if nowait => nowait = false,
                    e => break Some(if done > 0 { done as isize } else { -(e as isize) }),
                }
            }
            // Nothing moved: the request is cancellable again while it waits.
            if done == 0 {
                st.store(polling, Release);
            }
        }
        // This worker may now wait indefinitely: if work is queued behind it and nobody is idle,
        // have another worker started, or that work could wait for this very request (a pipe
        // write queued behind the read that waits for it).
        q.want_worker_if_needed();
        let mut pfd =
            [libc::pollfd { fd, events: ev, revents: 0 }, libc::pollfd { fd: evfd, events: libc::POLLIN, revents: 0 }];
        sys::poll(&mut pfd, -1);
        if pfd[1].revents != 0 {
            if let Some(e) = me.evfd.get() {
                e.drain();
            }
        }
        if done == 0 && st.load(Acquire) & 0xff == phase::CANCELLING {
            break None;
        }
        ready = pfd[0].revents != 0;
    };
    // Under the work lock: `aio_cancel(fd, NULL)` reads `current` under it (see there).
    {
        let _g = q.pool.work.lock();
        me.current.store(core::ptr::null_mut(), Release);
    }
    out
}
