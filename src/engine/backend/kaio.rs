//! The kernel AIO backend (`io_setup`/`io_submit`/`io_getevents`, through `crate::sys`).
//!
//! Kernel AIO is asynchronous only for O_DIRECT regular files and block devices (it completes
//! buffered I/O inside `io_submit` and blocks there on pipes and sockets), so the engine routes
//! only those descriptors here. Every iocb carries `IOCB_FLAG_RESFD` so that completions also
//! count on the queue's eventfd, which the helper thread polls when someone must be told.
//!
//! Ownership: `Ctx` owns the kernel context (destroyed on drop; not inherited across `fork`).

use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering::*};

use crate::engine::request::{Completion, Op, ReqPtr};
use crate::errno::Errno;
use crate::sys::{
    AioContext, IoEvent, Iocb, Lock, IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PREADV, IOCB_CMD_PWRITE,
    IOCB_CMD_PWRITEV, IOCB_FLAG_RESFD,
};

pub(crate) struct Ctx {
    ctx: AioContext,
    /// Serialises `io_getevents` (which consumes as it waits).
    reap: Lock<()>,
    /// Requests in the context (an `io_getevents` is worth a system call only then).
    inflight: AtomicU32,
}

impl Ctx {
    pub(crate) fn new(slots: u32) -> Result<Ctx, Errno> {
        Ok(Ctx { ctx: AioContext::setup(slots)?, reap: Lock::new(()), inflight: AtomicU32::new(0) })
    }

    /// The lock that serialises reaping (see [`Ctx::reap`]).
    pub(crate) fn reap_lock(&self) -> &Lock<()> {
        &self.reap
    }

    /// Submits `reqs` (each on its descriptor, or the duplicate it holds); returns how many the
    /// kernel accepted (fewer when the context is full). No lock is needed: `io_submit` is
    /// thread-safe on a shared context.
    ///
    /// # Safety
    /// Every request is live and accepted, and its buffer stays valid while it is in flight;
    /// `resfd` is an eventfd.
    pub(crate) unsafe fn submit(&self, reqs: &[ReqPtr], resfd: c_int) -> usize {
        self.inflight.fetch_add(reqs.len() as u32, AcqRel);
        // SAFETY: the requests are live and accepted, their buffers valid while in flight, and
        // resfd an eventfd: our caller's contract, which is submit_all's.
        let n = unsafe { self.submit_all(reqs, resfd) }.unwrap_or(0);
        self.inflight.fetch_sub((reqs.len() - n) as u32, AcqRel);
        n
    }

    /// # Safety
    /// As [`Ctx::submit`].
    unsafe fn submit_all(&self, reqs: &[ReqPtr], resfd: c_int) -> Result<usize, Errno> {
        // Uninitialised on purpose (zeroing 4 KiB per call would dominate a small submission);
        // only the first `n` entries are written and passed to the kernel.
        let mut iocbs = [MaybeUninit::<Iocb>::uninit(); 64];
        let mut ptrs = [MaybeUninit::<*mut Iocb>::uninit(); 64];
        let mut done = 0;
        while done < reqs.len() {
            let n = (reqs.len() - done).min(64);
            for i in 0..n {
                // SAFETY: live request (caller), not modified by its owner while in flight.
                let req = unsafe { reqs[done + i].get() };
                let m = req.meta();
                let slot = iocbs[i].write(Iocb {
                    aio_data: req.ptr().user_data(),
                    aio_lio_opcode: match m.op() {
                        Op::Read => IOCB_CMD_PREAD,
                        Op::Write => IOCB_CMD_PWRITE,
                        Op::Fsync => IOCB_CMD_FSYNC,
                        Op::Fdatasync => IOCB_CMD_FDSYNC,
                        // The array in aio_buf, its count in aio_nbytes, as the kernel wants them.
                        Op::Readv => IOCB_CMD_PREADV,
                        Op::Writev => IOCB_CMD_PWRITEV,
                    },
                    aio_fildes: req.target_fd() as u32,
                    aio_buf: req.buf() as u64,
                    aio_nbytes: req.nbytes() as u64,
                    aio_offset: if m.stream() { 0 } else { req.offset() },
                    aio_flags: IOCB_FLAG_RESFD,
                    aio_resfd: resfd as u32,
                    ..Iocb::default()
                });
                ptrs[i].write(slot as *mut Iocb);
            }
            // SAFETY: ptrs[..n] were written above (MaybeUninit<*mut Iocb> has the layout of
            // *mut Iocb) and point to iocbs initialised on this stack frame; the kernel copies them
            // during the call. The buffers stay valid while in flight (the POSIX contract).
            let r = unsafe { self.ctx.submit(core::slice::from_raw_parts(ptrs.as_ptr() as *const *mut Iocb, n)) };
            let r = match r {
                Ok(r) => r,
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            };
            done += r;
            if r < n {
                break;
            }
        }
        Ok(done)
    }

    /// Whether reaping may find something: requests are in the context and its completion ring
    /// shows completions (no system call).
    pub(crate) fn has_pending(&self) -> bool {
        self.inflight.load(Acquire) != 0 && self.ctx.has_events()
    }

    /// Takes the completions that are there, without waiting, and reports each to `on` (the
    /// receiver owns the request).
    ///
    /// # Safety
    /// The caller holds the reap lock.
    pub(crate) unsafe fn reap(&self, mut on: impl FnMut(Completion)) -> usize {
        let mut total = 0;
        let mut ev = [IoEvent::default(); 64];
        loop {
            let Ok(r) = self.ctx.getevents(0, &mut ev, None) else { return total };
            for e in &ev[..r] {
                self.inflight.fetch_sub(1, AcqRel);
                if let Some(req) = ReqPtr::new(e.data as *mut _) {
                    on(Completion::Request(req, e.res as isize));
                }
            }
            total += r;
            if r < ev.len() {
                return total;
            }
        }
    }
}
