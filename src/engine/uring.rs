//! The io_uring backend: one ring per queue, owned by the queue.
//!
//! Ownership and drop order: `Ring` owns the `IoUring` (its fd and its three mappings; the
//! crate's `Drop` unmaps and closes them). Rings are created with `MADV_DONTFORK` mappings, so a
//! forked child does not inherit them; the child only closes the inherited ring fd (see
//! `engine::fork`). Access protocol: the submission queue is touched only under the owning
//! queue's `sq` lock, the completion queue only under its `reap` lock; both use the crate's
//! `*_shared` accessors, whose safety condition is exactly that exclusivity.

use core::ffi::c_int;
use std::os::fd::AsRawFd;

use io_uring::{opcode, squeue, types, IoUring};

use super::cb::{meta, Cb, Op};
use crate::errno::Errno;

pub struct Ring {
    ring: IoUring,
}

/// `user_data` of an SQE that is not a request: bit 0 set, the rest points to a `CancelSlot`.
pub(crate) const TAG_INTERNAL: u64 = 1;

/// Where `aio_cancel` receives the result of an `IORING_OP_ASYNC_CANCEL`.
pub struct CancelSlot {
    pub res: core::sync::atomic::AtomicI32,
    pub done: core::sync::atomic::AtomicU32,
}

/// Linux caps one read or write at this many bytes; larger requests complete short, as with
/// `pread`.
pub(crate) const MAX_RW: usize = 0x7fff_f000;

#[repr(C)]
struct GeteventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

impl Ring {
    /// Creates a ring; any error means "io_uring is not available here" (ENOSYS without kernel
    /// support, EPERM under seccomp or `io_uring_disabled`, ENOMEM/EAGAIN under memlock limits).
    pub fn new(entries: u32) -> Result<Ring, Errno> {
        let mut b = IoUring::builder();
        b.dontfork().setup_cqsize(entries * 16).setup_submit_all();
        let ring = b.build(entries).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::ENOSYS)))?;
        if !ring.params().is_feature_nodrop() || !ring.params().is_feature_ext_arg() {
            return Err(Errno::ENOSYS);
        }
        Ok(Ring { ring })
    }

    pub fn fd(&self) -> c_int {
        self.ring.as_raw_fd()
    }

    /// Builds the SQE for request `cb`.
    ///
    /// # Safety
    /// `cb` is live and accepted.
    unsafe fn sqe(cb: Cb) -> squeue::Entry {
        // SAFETY: the caller guarantees cb is live; it is not modified while in flight.
        let (m, a) = unsafe { (cb.meta().load(core::sync::atomic::Ordering::Relaxed), &*cb.0) };
        let fd = types::Fd(a.aio_fildes);
        // Streams get offset 0: what io_uring requires of a socket, ignored by pipes and ttys,
        // and right for a file that a stale cached class still calls a stream (see
        // `FdEntry::classify`).
        let off = if m & meta::STREAM != 0 { 0 } else { a.aio_offset as u64 };
        // A stream write resumed after a partial transfer continues where it stopped.
        // SAFETY: as above.
        let done = unsafe { cb.progress().load(core::sync::atomic::Ordering::Relaxed) } as usize;
        let len = (a.aio_nbytes.min(MAX_RW) - done) as u32;
        let e = match Op::from_bits(m) {
            Op::Read => opcode::Read::new(fd, a.aio_buf as *mut u8, len).offset(off).build(),
            Op::Write => opcode::Write::new(fd, (a.aio_buf as *const u8).wrapping_add(done), len).offset(off).build(),
            Op::Fsync => opcode::Fsync::new(fd).build(),
            Op::Fdatasync => opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build(),
        };
        e.user_data(cb.0 as u64)
    }

    /// Puts `cbs` into the submission queue and enters the kernel, in rounds of what fits.
    /// Returns how many were put in the ring (they belong to the kernel from then on) and whether
    /// some are still waiting in the ring for an `io_uring_enter` that failed (EBUSY, EAGAIN):
    /// the caller must then arrange a later [`Ring::flush`].
    ///
    /// # Safety
    /// Caller holds the queue's `sq` lock; every cb is live and accepted.
    pub unsafe fn submit(&self, cbs: &[Cb]) -> (usize, bool) {
        let mut put = 0;
        loop {
            // SAFETY: the sq lock gives us exclusive use of the submission queue.
            let mut sq = unsafe { self.ring.submission_shared() };
            for &cb in &cbs[put..] {
                // SAFETY: the SQE points at the caller's buffer, which stays valid while the
                // request is in flight (the POSIX contract of aio_read/aio_write).
                if unsafe { sq.push(&Self::sqe(cb)) }.is_err() {
                    break;
                }
                put += 1;
            }
            sq.sync();
            drop(sq);
            if !self.flush() {
                return (put, true);
            }
            if put == cbs.len() {
                return (put, false);
            }
        }
    }

    /// Enters the kernel to consume what waits in the submission queue. False if the kernel
    /// refused for now (entries stay in the ring). Caller holds the `sq` lock.
    pub fn flush(&self) -> bool {
        loop {
            match self.ring.submit() {
                Ok(_) => return true,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Submits an internal SQE (cancel). Caller holds the `sq` lock.
    ///
    /// # Safety
    /// `slot` stays valid until its CQE has been reaped.
    pub unsafe fn submit_cancel(&self, target: Option<Cb>, fd: c_int, slot: *const CancelSlot) -> Result<(), Errno> {
        let e = match target {
            Some(cb) => opcode::AsyncCancel::new(cb.0 as u64).build(),
            None => opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all()).build(),
        };
        let e = e.user_data(slot as u64 | TAG_INTERNAL);
        // SAFETY: sq lock held by the caller.
        let mut sq = unsafe { self.ring.submission_shared() };
        // SAFETY: the entry references no user memory.
        if unsafe { sq.push(&e) }.is_err() {
            drop(sq);
            let _ = self.ring.submit();
            // SAFETY: as above.
            let mut sq = unsafe { self.ring.submission_shared() };
            // SAFETY: as above.
            unsafe { sq.push(&e) }.map_err(|_| Errno::EAGAIN)?;
            sq.sync();
        } else {
            sq.sync();
        }
        self.ring.submit().map(|_| ()).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))
    }

    /// Takes every completion available, calling `f(user_data, res)` for each.
    ///
    /// # Safety
    /// Caller holds the queue's `reap` lock.
    pub unsafe fn reap(&self, mut f: impl FnMut(u64, i32)) -> usize {
        let mut n = 0;
        loop {
            const CHUNK: usize = 32;
            // Uninitialised on purpose: zeroing 512 bytes per reap was a third of the per-request
            // instruction count. Only the first `k` slots are read.
            let mut batch = [core::mem::MaybeUninit::<(u64, i32)>::uninit(); CHUNK];
            let mut k = 0;
            {
                // SAFETY: the reap lock gives us exclusive use of the completion queue.
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
                f(ud, res);
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
                // SAFETY: no submission, no argument.
                let _ = unsafe { self.ring.submitter().enter::<libc::sigset_t>(0, 0, 1, None) };
            }
        }
    }

    /// Blocks until at least one completion is available, a signal arrives, or `timeout` passes.
    pub fn wait(&self, timeout: Option<core::time::Duration>) -> Result<(), Errno> {
        let ts = timeout.map(|d| libc::timespec { tv_sec: d.as_secs() as i64, tv_nsec: d.subsec_nanos() as i64 });
        let arg = GeteventsArg {
            sigmask: 0,
            sigmask_sz: 0,
            min_wait_usec: 0,
            ts: ts.as_ref().map_or(0, |t| t as *const _ as u64),
        };
        const GETEVENTS: u32 = 1;
        const EXT_ARG: u32 = 8;
        // SAFETY: arg is a valid io_uring_getevents_arg that outlives the call.
        let r = unsafe { self.ring.submitter().enter(0, 1, GETEVENTS | EXT_ARG, Some(&arg)) };
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
    pub fn has_completions(&self) -> bool {
        // SAFETY: only reads head and tail; the view is forgotten, not dropped, because dropping
        // it would store its cached head over a concurrent reaper's.
        let cq = unsafe { self.ring.completion_shared() };
        let empty = cq.is_empty();
        core::mem::forget(cq);
        !empty
    }
}
