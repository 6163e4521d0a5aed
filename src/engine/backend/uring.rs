//! The io_uring backend: one ring per queue.
//!
//! Ownership and drop order: `Ring` owns the `IoUring` (its fd and its three mappings; the
//! crate's `Drop` unmaps and closes them). Rings are created with `MADV_DONTFORK` mappings, so a
//! forked child does not inherit them; the child only closes the inherited ring fd
//! ([`Ring::close_inherited`]). Access protocol: the submission queue is touched only under the
//! ring's `sq` lock, the completion queue only under its `reap` lock; both use the crate's
//! `*_shared` accessors, whose safety condition is exactly that exclusivity. The ring's system
//! calls are the io-uring crate's.

use core::ffi::c_int;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};
use core::time::Duration;
use std::os::fd::AsRawFd;

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{opcode, squeue, types, EnterFlags, IoUring};

use crate::engine::request::{Completion, Op, Req, ReqPtr};
use crate::errno::Errno;
use crate::sys::{self, Lock};

pub(crate) struct Ring {
    ring: IoUring,
    /// Serialises the submission queue.
    sq: Lock<()>,
    /// Serialises consumption of the completion queue. Waiting for completions needs no lock
    /// (several threads may sleep on the ring); only taking them does.
    reap: Lock<()>,
    /// Set when submissions wait in the ring for an `io_uring_enter` that the kernel refused.
    stuck: AtomicU32,
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

/// Linux caps one read or write at this many bytes; larger requests complete short, as with
/// `pread`.
pub(crate) const MAX_RW: usize = 0x7fff_f000;

impl Ring {
    /// Creates a ring; any error means "io_uring is not available here" (ENOSYS without kernel
    /// support, EPERM under seccomp or `io_uring_disabled`, ENOMEM/EAGAIN under memlock limits).
    pub(crate) fn new(entries: u32) -> Result<Ring, Errno> {
        let mut b = IoUring::builder();
        b.dontfork().setup_cqsize(entries * 16).setup_submit_all();
        let ring = b.build(entries).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::ENOSYS)))?;
        if !ring.params().is_feature_nodrop() || !ring.params().is_feature_ext_arg() {
            return Err(Errno::ENOSYS);
        }
        Ok(Ring { ring, sq: Lock::new(()), reap: Lock::new(()), stuck: AtomicU32::new(0) })
    }

    pub(crate) fn fd(&self) -> c_int {
        self.ring.as_raw_fd()
    }

    /// The lock that serialises reaping (see [`Ring::reap`]).
    pub(crate) fn reap_lock(&self) -> &Lock<()> {
        &self.reap
    }

    /// Builds the SQE for request `req`.
    fn sqe(req: &Req<'_>) -> squeue::Entry {
        let m = req.meta();
        let fd = types::Fd(req.fd());
        // Streams get offset 0: what io_uring requires of a socket, ignored by pipes and ttys,
        // and right for a file that a stale cached class still calls a stream (see
        // `FdEntry::classify`).
        let off = if m.stream() { 0 } else { req.offset() as u64 };
        // A stream write resumed after a partial transfer continues where it stopped.
        let done = req.progress();
        let len = (req.nbytes().min(MAX_RW) - done) as u32;
        let e = match m.op() {
            Op::Read => opcode::Read::new(fd, req.buf(), len).offset(off).build(),
            Op::Write => opcode::Write::new(fd, req.buf().wrapping_add(done), len).offset(off).build(),
            Op::Fsync => opcode::Fsync::new(fd).build(),
            Op::Fdatasync => opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build(),
        };
        e.user_data(req.ptr().user_data())
    }

    /// Puts `reqs` into the submission queue and enters the kernel, in rounds of what fits, under
    /// the `sq` lock (waited for only if `blocking`; otherwise a busy lock takes nothing). Returns
    /// how many were put in the ring (they belong to the kernel from then on) and whether some are
    /// stuck in the ring behind an `io_uring_enter` that failed (EBUSY, EAGAIN): the queue's helper
    /// must then [`Ring::retry_stuck`].
    ///
    /// # Safety
    /// Every request is live and accepted, and its buffer stays valid while it is in flight.
    pub(crate) unsafe fn submit(&self, reqs: &[ReqPtr], blocking: bool) -> (usize, bool) {
        let g = if blocking { Some(self.sq.lock()) } else { self.sq.try_lock() };
        let Some(_g) = g else { return (0, false) };
        let mut put = 0;
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
            if !self.flush() {
                self.stuck.store(1, Release);
                return (put, true);
            }
            if put == reqs.len() {
                return (put, false);
            }
        }
    }

    /// Enters the kernel to consume what waits in the submission queue. False if the kernel
    /// refused for now (entries stay in the ring). Caller holds the `sq` lock.
    fn flush(&self) -> bool {
        loop {
            match self.ring.submit() {
                Ok(_) => return true,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Whether submissions are stuck in the ring (see [`Ring::submit`]).
    pub(crate) fn is_stuck(&self) -> bool {
        self.stuck.load(Acquire) != 0
    }

    /// Takes the stuck flag: true if the caller must [`Ring::retry_stuck`].
    pub(crate) fn take_stuck(&self) -> bool {
        self.stuck.swap(0, AcqRel) != 0
    }

    /// Enters the kernel again for what is stuck in the ring; sets the flag again if it still
    /// refuses.
    pub(crate) fn retry_stuck(&self) {
        let _g = self.sq.lock();
        if !self.flush() {
            self.stuck.store(1, Release);
        }
    }

    /// Wakes whoever sleeps in `io_uring_enter` on this ring (a request it may wait for went
    /// elsewhere): a no-op whose completion is reaped as `Completion::Internal`. Best effort: if
    /// the ring cannot take it now, what is in the ring will wake the sleeper.
    pub(crate) fn wake_waiters(&self) {
        let e = opcode::Nop::new().build().user_data(TAG_INTERNAL);
        let _g = self.sq.lock();
        // SAFETY: the sq lock (held) gives us exclusive use of the submission queue.
        let mut sq = unsafe { self.ring.submission_shared() };
        // SAFETY: the entry references no user memory.
        let pushed = unsafe { sq.push(&e) }.is_ok();
        sq.sync();
        drop(sq);
        if pushed && !self.flush() {
            self.stuck.store(1, Release);
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
        // SAFETY: the sq lock (held) gives us exclusive use of the submission queue.
        let mut sq = unsafe { self.ring.submission_shared() };
        // SAFETY: the entry references no user memory.
        if unsafe { sq.push(&e) }.is_err() {
            drop(sq);
            let _ = self.ring.submit();
            // SAFETY: still under the sq lock: exclusive use of the submission queue.
            let mut sq = unsafe { self.ring.submission_shared() };
            // SAFETY: the entry references no user memory.
            unsafe { sq.push(&e) }.map_err(|_| Errno::EAGAIN)?;
            sq.sync();
        } else {
            sq.sync();
        }
        self.ring.submit().map(|_| ()).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))
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
            let mut k = 0;
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
                    on(Completion::Request(r, res as isize));
                }
            }
            n += k;
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
                // SAFETY: no submission and no argument: only flushes the kept completions.
                let _ =
                    unsafe { self.ring.submitter().enter::<libc::sigset_t>(0, 0, EnterFlags::GETEVENTS.bits(), None) };
            }
        }
    }

    /// Blocks until at least one completion is available, a signal arrives, or `timeout` passes.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        let ts = timeout.map(Timespec::from);
        let args = match &ts {
            Some(ts) => SubmitArgs::new().timespec(ts),
            None => SubmitArgs::new(),
        };
        let flags = EnterFlags::GETEVENTS | EnterFlags::EXT_ARG;
        // SAFETY: `args` is a valid io_uring_getevents_arg (the crate's type) that outlives the
        // call, with a timespec (or none) that outlives it too; nothing is submitted.
        let r = unsafe { self.ring.submitter().enter(0, 1, flags.bits(), Some(&args)) };
        match r {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR) => Err(Errno::EINTR),
                Some(libc::ETIME) => Err(Errno::EAGAIN),
                Some(c) => Err(Errno(c)),
                None => Err(Errno::EIO),
            },
        }
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

    /// Closes the ring descriptor a forked child inherited (its mappings were not inherited).
    ///
    /// # Safety
    /// Nothing uses this ring afterwards.
    pub(crate) unsafe fn close_inherited(&self) {
        sys::close(self.fd());
    }
}
