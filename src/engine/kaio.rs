//! The kernel AIO backend (`io_setup`/`io_submit`/`io_getevents`), by raw system calls.
//!
//! Kernel AIO is asynchronous only for O_DIRECT regular files and block devices (it completes
//! buffered I/O inside `io_submit` and blocks there on pipes and sockets), so the engine routes
//! only those descriptors here. Every iocb carries `IOCB_FLAG_RESFD` so that completions also
//! count on the queue's eventfd, which the helper thread polls when someone must be told.
//!
//! Ownership: `Ctx` owns the kernel context and destroys it on drop. Contexts are not inherited
//! across `fork` (they belong to the parent's address space), so a child just forgets them.

use core::ffi::c_int;
use core::time::Duration;

use super::cb::{meta, Cb, Op};
use crate::errno::Errno;
use crate::sys::{
    AioContext, IoEvent, Iocb, IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_FLAG_RESFD,
};

pub struct Ctx {
    ctx: AioContext,
}

impl Ctx {
    pub fn new(slots: u32) -> Result<Ctx, Errno> {
        Ok(Ctx { ctx: AioContext::setup(slots)? })
    }

    /// Submits `cbs`; returns how many the kernel accepted (EAGAIN when the context is full).
    /// No lock is needed: `io_submit` is thread-safe on a shared context.
    ///
    /// # Safety
    /// Every cb is live and accepted; `resfd` is an eventfd.
    pub unsafe fn submit(&self, cbs: &[Cb], resfd: c_int) -> Result<usize, Errno> {
        // Uninitialised on purpose (zeroing 4 KiB per call would dominate a small submission);
        // only the first `n` entries are written and passed to the kernel.
        let mut iocbs = [core::mem::MaybeUninit::<Iocb>::uninit(); 64];
        let mut ptrs = [core::mem::MaybeUninit::<*mut Iocb>::uninit(); 64];
        let mut done = 0;
        while done < cbs.len() {
            let n = (cbs.len() - done).min(64);
            for i in 0..n {
                let cb = cbs[done + i];
                // SAFETY: cb is live and not modified while in flight (caller).
                let (m, a) = unsafe { (cb.meta().load(core::sync::atomic::Ordering::Relaxed), &*cb.0) };
                let op = Op::from_bits(m);
                let slot = iocbs[i].write(Iocb {
                    aio_data: cb.0 as u64,
                    aio_lio_opcode: match op {
                        Op::Read => IOCB_CMD_PREAD,
                        Op::Write => IOCB_CMD_PWRITE,
                        Op::Fsync => IOCB_CMD_FSYNC,
                        Op::Fdatasync => IOCB_CMD_FDSYNC,
                    },
                    aio_fildes: a.aio_fildes as u32,
                    aio_buf: a.aio_buf as u64,
                    aio_nbytes: a.aio_nbytes as u64,
                    aio_offset: if m & meta::STREAM != 0 { 0 } else { a.aio_offset },
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

    /// Whether completions wait in the context (no system call).
    pub fn has_events(&self) -> bool {
        self.ctx.has_events()
    }

    /// Takes completions: at least `min` unless `timeout` passes or a signal arrives.
    /// Calls `f(cb, res)` for each. Caller holds the queue's `reap` lock.
    pub fn reap(&self, min: usize, timeout: Option<Duration>, mut f: impl FnMut(Cb, isize)) -> Result<usize, Errno> {
        let mut total = 0;
        let mut ev = [IoEvent::default(); 64];
        let mut min = min;
        loop {
            let r = match self.ctx.getevents(min, &mut ev, timeout) {
                Ok(r) => r,
                Err(e) => return if total > 0 { Ok(total) } else { Err(e) },
            };
            for e in &ev[..r] {
                f(Cb(e.data as *mut crate::abi::Aiocb), e.res as isize);
            }
            total += r;
            if r < 64 {
                if min > 0 && r == 0 {
                    return Err(Errno::EAGAIN);
                }
                return Ok(total);
            }
            min = 0;
        }
    }
}
