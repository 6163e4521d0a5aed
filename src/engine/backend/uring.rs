//! The io_uring backend: one ring per queue.
//!
//! Ownership: `Ring` owns the `IoUring` (its three mappings) and the ring's descriptor, which is
//! moved out of the low range and tagged as ours right after setup (`sys::move_high`,
//! `sys::tag_own`): the number the kernel first gave belongs to the crate's `IoUring`, which is
//! never dropped once the ring is in use, and we enter the ring only through our own number
//! (`sys::uring_enter`). Rings are created with `MADV_DONTFORK` mappings, so a forked child does
//! not inherit them; the child only closes the inherited ring fd if it is still ours
//! ([`Ring::close_inherited`]). Access protocol: the submission queue is touched only under the
//! ring's `sq` lock, the completion queue only under its `reap` lock; both use the crate's
//! `*_shared` accessors, whose safety condition is exactly that exclusivity.
//!
//! A ring stops taking submissions for good ([`Ring::is_dead`]) the first time entering it fails
//! with anything but EINTR (a seccomp filter installed after setup answers EPERM; `closefrom`
//! took our number: EBADF, or EOPNOTSUPP once the number names another file; EAGAIN when the
//! kernel has no memory). The entries the kernel had not consumed are then still in the ring, and
//! since nothing will ever enter it again to submit, they never run: [`Ring::submit`] reports
//! them as not taken, and the caller runs them elsewhere, once. Completions of what the kernel
//! did take are still reaped from the shared completion ring, which needs no system call.

use core::cell::Cell;
use core::ffi::c_int;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};
use std::os::fd::AsRawFd;

use io_uring::{opcode, squeue, types, EnterFlags, IoUring};

use crate::engine::request::{Completion, Op, Req, ReqPtr, Span, MAX_RW};
use crate::errno::Errno;
use crate::sys::{self, Lock};

thread_local! {
    /// Whether this thread may enter a ring to submit requests (see [`may_submit`]).
    static SUBMITTER: Cell<bool> = const { Cell::new(false) };
}

/// Makes the calling thread one that may submit requests to a ring: the queues' helper threads,
/// which never exit while the engine lives.
pub(crate) fn become_submitter() {
    SUBMITTER.with(|s| s.set(true));
}

/// Whether the calling thread may enter a ring to submit requests (async-signal-safe: one
/// thread-local load). Only a helper thread may. io_uring runs the end of a request (a stream's
/// readiness, the end of an O_DIRECT or uncached buffered read, even the start of one of its own
/// kernel workers) as task work of the thread that submitted it, and a thread with task work
/// pending has its interruptible system calls (`epoll_wait`, `sigtimedwait`, a `recv` with a
/// timeout, ...) fail with EINTR, also with `IORING_SETUP_COOP_TASKRUN`, which only spares the
/// interrupt of a running thread. A program thread must never be that thread, so it hands its
/// requests to the helper (`Queue::defer`); requests, not wake-ups: a no-op or a cancellation it
/// submits (`Ring::wake_waiters`, `Ring::submit_cancel`) ends inside its own `io_uring_enter`.
///
/// Out of line: inlined, the compiler computed the thread-local's address (a `__tls_get_addr`
/// call in this shared library) at the top of `Batch::flush_runs`, for every batch, even one
/// with no request for a ring.
#[inline(never)]
pub(crate) fn may_submit() -> bool {
    SUBMITTER.with(|s| s.get())
}

pub(crate) struct Ring {
    /// Never dropped: its descriptor number may be in use by the program by now (see the module
    /// documentation); the mappings live as long as the process.
    ring: ManuallyDrop<IoUring>,
    /// Our number for the ring (high, tagged, claimed for `owner`).
    fd: c_int,
    /// The owner number of `fd` (see `sys::claim`).
    owner: u32,
    /// Serialises the submission queue.
    sq: Lock<()>,
    /// Serialises consumption of the completion queue. Waiting for completions needs no lock
    /// (several threads may sleep on the ring); only taking them does.
    reap: Lock<()>,
    /// Non-zero once entering the ring failed: it takes no more submissions (module docs).
    dead: AtomicU32,
    /// Requests the kernel consumed whose completion was not reaped yet (not the internal
    /// no-ops and cancels): the helper ticks while this is not 0 (`helper::Fields`).
    inflight: AtomicU32,
    /// Completions taken so far (wrapping), moved under the reap lock by every reap that took
    /// some: the helper tells a ring nobody reaps by it.
    reaped: AtomicU32,
}

/// `user_data` of an SQE that is not a request: bit 0 set, the rest points to a `CancelSlot`, or
/// is NULL for a wake-up (see [`Ring::wake_waiters`]).
const TAG_INTERNAL: u64 = 1;

/// Where `aio_cancel` receives the result of an `IORING_OP_ASYNC_CANCEL`.
#[derive(Default)]
pub(crate) struct CancelSlot {
    res: AtomicI32,
    done: AtomicU32,
}

impl CancelSlot {
    /// The cancel's result, once [`CancelSlot::is_done`].
    pub(crate) fn result(&self) -> i32 {
        self.res.load(Acquire)
    }
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Acquire) != 0
    }
}

impl Ring {
    /// Creates a ring; any error means "io_uring is not available here" (ENOSYS without kernel
    /// support, EPERM under seccomp or `io_uring_disabled`, ENOMEM/EAGAIN under memlock limits).
    pub(crate) fn new(entries: u32) -> Result<Ring, Errno> {
        // From the ring's setup to its tag and claim, a fork would give the child a descriptor it
        // does not know it has; tagged and claimed, the child closes it
        // (`sys::close_own_inherited`) even if this queue is not started yet.
        let section = sys::fd_section();
        let mut b = IoUring::builder();
        b.dontfork().setup_cqsize(entries * 16).setup_submit_all();
        let ring = b.build(entries).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::ENOSYS)))?;
        if !ring.params().is_feature_nodrop() || !ring.params().is_feature_ext_arg() {
            return Err(Errno::ENOSYS);
        }
        let fd = sys::move_high(ring.as_raw_fd());
        let owner = sys::new_owner();
        sys::tag_own(fd, owner);
        drop(section);
        Ok(Ring {
            ring: ManuallyDrop::new(ring),
            fd,
            owner,
            sq: Lock::new(()),
            reap: Lock::new(()),
            dead: AtomicU32::new(0),
            inflight: AtomicU32::new(0),
            reaped: AtomicU32::new(0),
        })
    }

    /// Our number for the ring, if it is still ours (else the ring is marked dead: nothing can
    /// enter it any more). One `fcntl`; for the slow paths that sleep or poll on it.
    pub(crate) fn checked_fd(&self) -> Option<c_int> {
        if sys::is_own_by(self.fd, self.owner) {
            Some(self.fd)
        } else {
            self.kill();
            None
        }
    }

    /// Our number for the ring, unchecked: for a sleep in `ppoll` on it that is capped and
    /// followed by a check when it looks wrong (see `engine::wait`).
    pub(crate) fn raw_fd(&self) -> c_int {
        self.fd
    }

    /// Whether the ring takes no more submissions (see the module documentation).
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Acquire) != 0
    }

    fn kill(&self) {
        self.dead.store(1, Release);
    }

    /// `io_uring_enter` on our number, with no argument (nothing here sleeps in it: waits sleep in
    /// `ppoll` on the ring, see `engine::wait`).
    fn enter(&self, to_submit: u32, min: u32, flags: u32) -> Result<u32, Errno> {
        // SAFETY: no argument is passed (NULL, size 0).
        unsafe { sys::uring_enter(self.fd, to_submit, min, flags, core::ptr::null(), 0) }
    }

    /// Entries in the submission queue that the kernel has not consumed. Caller holds `sq`.
    fn unconsumed(&self) -> usize {
        // SAFETY: under the sq lock (caller); the view only reads head and tail, and dropping it
        // stores back the tail it read, which nobody else can have moved meanwhile.
        unsafe { self.ring.submission_shared() }.len()
    }

    /// The lock that serialises reaping (see [`Ring::reap`]).
    pub(crate) fn reap_lock(&self) -> &Lock<()> {
        &self.reap
    }

    /// Builds the SQE for request `req`, on its descriptor or the duplicate it holds.
    fn sqe(req: &Req<'_>) -> squeue::Entry {
        let m = req.meta();
        let fd = types::Fd(req.target_fd());
        // Streams get offset 0: what io_uring requires of a socket, ignored by pipes and ttys,
        // and right for a file that a stale cached class still calls a stream (see
        // `FdEntry::classify`). -1 asks for the file position (`AIO_OP2_FOFFSET`).
        let off = if m.stream() {
            0
        } else if m.file_pos() {
            u64::MAX
        } else {
            req.offset() as u64
        };
        // A stream write resumed after a partial transfer continues where it stopped. (The word is
        // a cancel mark for any other request: see `Req::cancel_mark`.)
        let done = if m.stream() { req.progress() } else { 0 };
        let e = match m.op() {
            Op::Read => opcode::Read::new(fd, req.buf(), req.nbytes().min(MAX_RW) as u32).offset(off).build(),
            Op::Write => {
                let len = (req.nbytes().min(MAX_RW) - done) as u32;
                opcode::Write::new(fd, req.buf().wrapping_add(done), len).offset(off).build()
            }
            Op::Fsync => opcode::Fsync::new(fd).build(),
            Op::Fdatasync => opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build(),
            // A vector: the whole array, or (a stream write resumed) what is left of it.
            op => match req.span(done) {
                Some(Span::Vec(v, n)) if op.is_read() => opcode::Readv::new(fd, v, n as u32).offset(off).build(),
                Some(Span::Vec(v, n)) => opcode::Writev::new(fd, v, n as u32).offset(off).build(),
                Some(Span::Buf(b, len)) if op.is_read() => opcode::Read::new(fd, b, len as u32).offset(off).build(),
                Some(Span::Buf(b, len)) => opcode::Write::new(fd, b, len as u32).offset(off).build(),
                // Nothing left (the reaper finishes a complete transfer before this): completes
                // with 0.
                None => opcode::Nop::new().build(),
            },
        };
        e.user_data(req.ptr().user_data())
    }

    /// Puts `reqs` into the submission queue and enters the kernel, in rounds of what fits, under
    /// the `sq` lock (waited for only if `blocking`; otherwise a busy lock takes nothing). Returns
    /// how many the kernel consumed: the first ones of `reqs`, which belong to the kernel from then
    /// on; the rest are still the caller's (a busy lock, or the ring died: see the module docs).
    ///
    /// At every release of the lock the submission queue is empty (the kernel consumed it all, or
    /// the ring is dead and nobody pushes again), so what a failed enter left unconsumed is the
    /// tail of this round.
    ///
    /// # Safety
    /// Every request is live and accepted, and its buffer stays valid while it is in flight.
    pub(crate) unsafe fn submit(&self, reqs: &[ReqPtr], blocking: bool) -> usize {
        debug_assert!(may_submit(), "only a helper thread submits requests to a ring");
        let g = if blocking { Some(self.sq.lock()) } else { self.sq.try_lock() };
        let Some(_g) = g else { return 0 };
        if self.is_dead() {
            return 0;
        }
        let (mut put, mut counted) = (0, 0);
        loop {
            // SAFETY: the sq lock (held) gives us exclusive use of the submission queue.
            let mut sq = unsafe { self.ring.submission_shared() };
            for &r in &reqs[put..] {
                // SAFETY: r is live (caller).
                let e = Self::sqe(&unsafe { r.get() });
                // SAFETY: the SQE points at the caller's buffer, which stays valid while the
                // request is in flight (the POSIX contract of aio_read/aio_write).
                if unsafe { sq.push(&e) }.is_err() {
                    break;
                }
                put += 1;
            }
            sq.sync();
            drop(sq);
            // Counted before the kernel may complete them (a reaper uncounts each), SeqCst: the
            // hand-shake with the helper's tick (`Queue::kernel_issued`).
            self.inflight.fetch_add((put - counted) as u32, SeqCst);
            counted = put;
            if !self.flush() {
                let left = self.unconsumed();
                self.inflight.fetch_sub(left as u32, SeqCst);
                return put - left;
            }
            if put == reqs.len() {
                return put;
            }
        }
    }

    /// Enters the kernel until it consumed everything in the submission queue. False (and the
    /// ring is dead) if it failed. Caller holds the `sq` lock.
    fn flush(&self) -> bool {
        let mut idle = 0;
        let mut n = self.unconsumed();
        while n > 0 {
            match self.enter(n as u32, 0, 0) {
                Ok(c) if c as usize == n => return true,
                Err(Errno::EINTR) => {}
                Ok(0) if idle == 0 => idle += 1,
                Ok(c) if c > 0 => idle = 0,
                _ => {
                    self.kill();
                    return false;
                }
            }
            n = self.unconsumed();
        }
        true
    }

    /// Wakes whoever sleeps in `ppoll` on this ring (a request it may wait for went elsewhere): a
    /// no-op whose completion is reaped as `Completion::Internal`. Best effort: without `blocking`
    /// only if the submission lock is free, and nothing on a dead ring (nobody sleeps on one).
    pub(crate) fn wake_waiters(&self, blocking: bool) {
        let g = if blocking { Some(self.sq.lock()) } else { self.sq.try_lock() };
        let Some(_g) = g else { return };
        if self.is_dead() {
            return;
        }
        let e = opcode::Nop::new().build().user_data(TAG_INTERNAL);
        // SAFETY: the sq lock (held) gives us exclusive use of the submission queue.
        let mut sq = unsafe { self.ring.submission_shared() };
        // SAFETY: the entry references no user memory.
        let pushed = unsafe { sq.push(&e) }.is_ok();
        sq.sync();
        drop(sq);
        if pushed {
            // A failure kills the ring: its waiters then wake from their capped sleeps.
            let _ = self.flush();
        }
    }

    /// Asks io_uring to cancel `target`, or every request on `fd` when `target` is None; the
    /// answer arrives in `slot` (reaped like any completion, reported as `Completion::Internal`).
    ///
    /// # Safety
    /// `slot` stays valid until it is done.
    pub(crate) unsafe fn submit_cancel(
        &self,
        target: Option<ReqPtr>,
        fd: c_int,
        slot: &CancelSlot,
    ) -> Result<(), Errno> {
        let e = match target {
            Some(r) => opcode::AsyncCancel::new(r.user_data()).build(),
            None => opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all()).build(),
        };
        let e = e.user_data(slot as *const CancelSlot as u64 | TAG_INTERNAL);
        let _g = self.sq.lock();
        if self.is_dead() {
            return Err(Errno::EAGAIN);
        }
        // SAFETY: the sq lock (held) gives us exclusive use of the submission queue, which is
        // empty (see `submit`).
        let mut sq = unsafe { self.ring.submission_shared() };
        // SAFETY: the entry references no user memory.
        unsafe { sq.push(&e) }.map_err(|_| Errno::EAGAIN)?;
        sq.sync();
        drop(sq);
        if self.flush() {
            Ok(())
        } else {
            Err(Errno::EAGAIN)
        }
    }

    /// Takes every completion available and reports each to `on`: a request's as
    /// `Completion::Request` (the receiver owns the request), an internal cancel's by filling its
    /// slot and reporting `Completion::Internal`.
    ///
    /// # Safety
    /// The caller holds the reap lock.
    pub(crate) unsafe fn reap(&self, mut on: impl FnMut(Completion)) -> usize {
        let mut n = 0;
        loop {
            const CHUNK: usize = 32;
            // Uninitialised on purpose: zeroing 512 bytes per reap was a third of the per-request
            // instruction count. Only the first `k` slots are read.
            let mut batch = [core::mem::MaybeUninit::<(u64, i32)>::uninit(); CHUNK];
            let (mut k, mut reqs) = (0, 0u32);
            {
                // SAFETY: the reap lock (held by the caller) gives us exclusive use of the
                // completion queue.
                let mut cq = unsafe { self.ring.completion_shared() };
                for cqe in &mut cq {
                    batch[k].write((cqe.user_data(), cqe.result()));
                    k += 1;
                    if k == CHUNK {
                        break;
                    }
                }
                cq.sync();
            }
            for slot in &batch[..k] {
                // SAFETY: slots below k were written above.
                let (ud, res) = unsafe { slot.assume_init() };
                if ud & TAG_INTERNAL != 0 {
                    let slot = (ud & !TAG_INTERNAL) as *const CancelSlot;
                    if !slot.is_null() {
                        // SAFETY: the canceller keeps its slot alive until `done` is set.
                        unsafe {
                            (*slot).res.store(res, Relaxed);
                            (*slot).done.store(1, Release);
                        }
                    }
                    on(Completion::Internal);
                } else if let Some(r) = ReqPtr::new(ud as *mut _) {
                    reqs += 1;
                    on(Completion::Request(r, res as isize));
                }
            }
            n += k;
            if k != 0 {
                self.inflight.fetch_sub(reqs, AcqRel);
                // Only reap-lock holders write it (the caller holds that lock).
                self.reaped.store(self.reaped.load(Relaxed).wrapping_add(k as u32), Relaxed);
            }
            if k < CHUNK {
                // Completions the kernel kept aside when the CQ ring was full are flushed by an
                // enter with GETEVENTS.
                // SAFETY: reading the SQ flags only; the view is forgotten, not dropped, because
                // dropping it would store its cached tail over a concurrent submitter's.
                let sq = unsafe { self.ring.submission_shared() };
                let overflow = sq.cq_overflow();
                core::mem::forget(sq);
                if !overflow {
                    return n;
                }
                // No submission and no argument: only flushes the kept completions.
                if self.enter(0, 0, EnterFlags::GETEVENTS.bits()).is_err() {
                    return n;
                }
            }
        }
    }

    /// Whether requests the kernel took are not reaped yet (SeqCst, as the count's increments).
    pub(crate) fn in_flight(&self) -> bool {
        self.inflight.load(SeqCst) != 0
    }

    /// How many completions were taken so far (wrapping; see `reaped`).
    pub(crate) fn reaped(&self) -> u32 {
        self.reaped.load(Relaxed)
    }

    /// [`Ring::has_completions`] for a thread that does not hold the reap lock (the helper's tick):
    /// asked under that lock, tried only; None if it is held. (The crate reads the completion
    /// queue's head without an atomic load, which only a holder of the lock may do while another
    /// thread may reap.)
    pub(crate) fn peek_completions(&self) -> Option<bool> {
        let _g = self.reap.try_lock()?;
        Some(self.has_completions())
    }

    /// Whether completions are waiting (two loads from shared memory, no system call).
    pub(crate) fn has_completions(&self) -> bool {
        // SAFETY: only reads head and tail; the view is forgotten, not dropped, because dropping
        // it would store its cached head over a concurrent reaper's.
        let cq = unsafe { self.ring.completion_shared() };
        let empty = cq.is_empty();
        core::mem::forget(cq);
        !empty
    }

    /// Closes the ring descriptor a forked child inherited (its mappings were not inherited), if
    /// the number is still ours.
    ///
    /// # Safety
    /// Nothing uses this ring afterwards.
    pub(crate) unsafe fn close_inherited(&self) {
        if sys::is_own_by(self.fd, self.owner) {
            sys::close(self.fd);
        }
    }
}
