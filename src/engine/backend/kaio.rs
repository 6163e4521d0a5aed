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

use crate::engine::request::{Completion, Op, Req, ReqPtr};
use crate::errno::Errno;
use crate::sys::{
    AioContext, IoEvent, Iocb, Lock, IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PREADV, IOCB_CMD_PWRITE,
    IOCB_CMD_PWRITEV, IOCB_FLAG_RESFD,
};

/// The most deferred reads [`Ctx::submit_deferred`] takes at once (a batch has fewer).
pub(crate) const DEFERRED_MAX: usize = 64;

pub(crate) struct Ctx {
    ctx: AioContext,
    /// Serialises `io_getevents` (which consumes as it waits).
    reap: Lock<()>,
    /// Requests in the context (an `io_getevents` is worth a system call only then).
    inflight: AtomicU32,
    /// Completions taken so far (wrapping), moved under the reap lock by every reap that took
    /// some: the helper tells a ring nobody reaps by it (`helper::Fields`).
    reaped: AtomicU32,
}

impl Ctx {
    pub(crate) fn new(slots: u32) -> Result<Ctx, Errno> {
        Ok(Ctx {
            ctx: AioContext::setup(slots)?,
            reap: Lock::new(()),
            inflight: AtomicU32::new(0),
            reaped: AtomicU32::new(0),
        })
    }

    /// The lock that serialises reaping (see [`Ctx::reap`]).
    pub(crate) fn reap_lock(&self) -> &Lock<()> {
        &self.reap
    }

    /// Submits `reqs` (each on its descriptor, or the duplicate it holds); returns how many the
    /// kernel accepted (fewer when the context is full). No lock is needed: `io_submit` is
    /// thread-safe on a shared context. `resfd` is signalled by each completion, except a
    /// deferred read's (`Meta::nowait`), which may pass -1.
    ///
    /// # Safety
    /// Every request is live and accepted, and its buffer stays valid while it is in flight;
    /// `resfd` is an eventfd (unless every request is a deferred read).
    pub(crate) unsafe fn submit(&self, reqs: &[ReqPtr], resfd: c_int) -> usize {
        // SeqCst: the hand-shake with the helper's tick (`Queue::kernel_issued`).
        self.inflight.fetch_add(reqs.len() as u32, SeqCst);
        // SAFETY: the requests are live and accepted, their buffers valid while in flight, and
        // resfd an eventfd: our caller's contract, which is submit_all's.
        let n = unsafe { self.submit_all(reqs, resfd) }.unwrap_or(0);
        if n < reqs.len() {
            self.inflight.fetch_sub((reqs.len() - n) as u32, AcqRel);
        }
        n
    }

    /// Submits `n` deferred reads, the i-th `at(i)` (`Meta::nowait`, `engine::deferred`; at most
    /// [`DEFERRED_MAX`]) as
    /// [`Ctx::submit`] does, and says why the kernel did not take the rest, if it did not (asked
    /// again for the rest, since `io_submit` reports the error of a later iocb only as a short
    /// count): EAGAIN when the context has no free slot. Each iocb is built once, in place, from
    /// what a deferred read is (see [`Ctx::iocb`]): no eventfd, `RWF_NOWAIT`, through the
    /// duplicate it holds; a retry passes the iocbs not taken yet as they are.
    ///
    /// # Safety
    /// As [`Ctx::submit`], and every request is a deferred read.
    pub(crate) unsafe fn submit_deferred(&self, n: usize, at: impl Fn(usize) -> ReqPtr) -> (usize, Option<Errno>) {
        let len = n.min(DEFERRED_MAX);
        // SeqCst: as in `submit`.
        self.inflight.fetch_add(len as u32, SeqCst);
        // Uninitialised on purpose, as in `submit_all`; only the first `len` are written.
        let mut iocbs = [MaybeUninit::<Iocb>::uninit(); DEFERRED_MAX];
        let mut ptrs = [MaybeUninit::<*mut Iocb>::uninit(); DEFERRED_MAX];
        for i in 0..len {
            // SAFETY: live request (caller), not modified by its owner while in flight.
            let req = unsafe { at(i).get() };
            let slot = iocbs[i].as_mut_ptr();
            // SAFETY: `slot` points to this frame's array entry i, written whole here.
            unsafe { slot.write(Self::deferred_iocb(&req)) };
            ptrs[i].write(slot);
        }
        let (mut n, mut why) = (0, None);
        while n < len {
            // SAFETY: ptrs[n..len] were written above (MaybeUninit<*mut Iocb> has the layout of
            // *mut Iocb) and point to iocbs initialised on this frame; the kernel copies them during
            // the call. The buffers stay valid while in flight (the POSIX contract).
            let all = unsafe { core::slice::from_raw_parts(ptrs.as_ptr() as *const *mut Iocb, len) };
            // SAFETY: as above.
            match unsafe { self.ctx.submit(&all[n..]) } {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => {
                    why = Some(e);
                    break;
                }
            }
        }
        if n < len {
            self.inflight.fetch_sub((len - n) as u32, AcqRel);
        }
        (n, why)
    }

    /// A deferred read's iocb (only they are `nowait`: `engine::deferred`), whole: a read or
    /// vectored read of a seekable file at its offset, through the duplicate it holds, with
    /// `RWF_NOWAIT` (a page-cache hit completes inside `io_submit`, a miss answers EAGAIN at once)
    /// and no eventfd (its flusher reaps it: signalling one cost 10% of a page-cached read).
    #[inline(always)]
    fn deferred_iocb(req: &Req<'_>) -> Iocb {
        Iocb {
            aio_data: req.ptr().user_data(),
            aio_key: 0,
            aio_rw_flags: libc::RWF_NOWAIT,
            aio_lio_opcode: if req.meta().op() == Op::Readv { IOCB_CMD_PREADV } else { IOCB_CMD_PREAD },
            aio_reqprio: 0,
            aio_fildes: req.target_fd() as u32,
            aio_buf: req.buf() as u64,
            aio_nbytes: req.nbytes() as u64,
            aio_offset: req.offset(),
            aio_reserved2: 0,
            aio_flags: 0,
            aio_resfd: 0,
        }
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
                let slot = iocbs[i].write(Self::iocb(&req, resfd));
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

    /// The iocb for `req`. An fsync is built from the descriptor and the operation alone: POSIX
    /// says `aio_fsync` ignores the other fields, which may still hold an earlier request's
    /// values, and the kernel rejects (EINVAL) an fsync iocb whose buffer, length, offset or
    /// `aio_rw_flags` is not zero.
    #[inline(always)]
    fn iocb(req: &Req<'_>, resfd: c_int) -> Iocb {
        let m = req.meta();
        if m.nowait() {
            return Self::deferred_iocb(req);
        }
        let base = Iocb {
            aio_data: req.ptr().user_data(),
            aio_fildes: req.target_fd() as u32,
            aio_flags: IOCB_FLAG_RESFD,
            aio_resfd: resfd as u32,
            ..Iocb::default()
        };
        let rw = |opcode| Iocb {
            aio_lio_opcode: opcode,
            aio_buf: req.buf() as u64,
            aio_nbytes: req.nbytes() as u64,
            aio_offset: if m.stream() { 0 } else { req.offset() },
            ..base
        };
        match m.op() {
            Op::Read => rw(IOCB_CMD_PREAD),
            Op::Write => rw(IOCB_CMD_PWRITE),
            // The array in aio_buf, its count in aio_nbytes, as the kernel wants them.
            Op::Readv => rw(IOCB_CMD_PREADV),
            Op::Writev => rw(IOCB_CMD_PWRITEV),
            Op::Fsync => Iocb { aio_lio_opcode: IOCB_CMD_FSYNC, ..base },
            Op::Fdatasync => Iocb { aio_lio_opcode: IOCB_CMD_FDSYNC, ..base },
        }
    }

    /// Whether reaping may find something: requests are in the context and its completion ring
    /// shows completions (no system call).
    pub(crate) fn has_pending(&self) -> bool {
        self.inflight.load(Acquire) != 0 && self.ctx.has_events()
    }

    /// Whether requests are in the context (SeqCst: the helper's side of the hand-shake in
    /// `Queue::kernel_issued`).
    pub(crate) fn in_flight(&self) -> bool {
        self.inflight.load(SeqCst) != 0
    }

    /// How many completions were taken so far (wrapping; see `reaped`).
    pub(crate) fn reaped(&self) -> u32 {
        self.reaped.load(Relaxed)
    }

    /// Takes the completions that are there, without waiting, and reports each to `on` (the
    /// receiver owns the request). `from_ring`: read them from the completion ring in our memory
    /// (`AioContext::ring_events`) rather than ask `io_getevents`; the flusher of deferred reads
    /// does (it saves a system call per batch), the other reapers do not (O_DIRECT reads at
    /// depth 32 measured 5 to 14% slower reaped so, in three interleaved runs; the cause is not
    /// known).
    ///
    /// # Safety
    /// The caller holds the reap lock.
    pub(crate) unsafe fn reap(&self, from_ring: bool, mut on: impl FnMut(Completion)) -> usize {
        let mut total = 0;
        // Uninitialised on purpose (zeroing 2 KiB per reap cost more than reaping a few events);
        // only the first `r` entries, written by the kernel, are read.
        let mut ev = [MaybeUninit::<IoEvent>::uninit(); 64];
        loop {
            // With `from_ring`, from the ring mapped in our memory when its layout is known,
            // without a system call, each event read where it lies; else from the kernel. Either
            // way only under the reap lock (the caller's).
            // SAFETY: the caller holds the reap lock, the only right to consume, for this call;
            // `on` does not consume (it has no reap lock).
            let mut ring = if from_ring { unsafe { self.ctx.ring_events() } } else { None };
            let r = match &ring {
                Some(events) => events.len(),
                None => match self.ctx.getevents(0, &mut ev, None) {
                    Ok(r) => r,
                    Err(_) => return total,
                },
            };
            if r != 0 {
                self.inflight.fetch_sub(r as u32, AcqRel);
                // Only reap-lock holders write it (the caller holds that lock).
                self.reaped.store(self.reaped.load(Relaxed).wrapping_add(r as u32), Relaxed);
            }
            match &mut ring {
                // From the ring: its events up to the tail seen (`next` counts them down, so the
                // loop asks one question per event, not also an index's and which source).
                Some(events) => {
                    while let Some((data, res)) = events.next() {
                        deliver(&mut on, data, res);
                    }
                }
                None => {
                    for e in &ev[..r] {
                        // SAFETY: the first r entries were written by the kernel (above).
                        let e = unsafe { e.assume_init_ref() };
                        deliver(&mut on, e.data, e.res);
                    }
                }
            }
            total += r;
            if ring.is_some() || r < ev.len() {
                return total;
            }
        }
    }
}

/// Reports an event (its `data` and `res`) to `on`: the request it names, if any. Inline: each of
/// `reap`'s two loops has `on` inlined in it.
#[inline(always)]
fn deliver(on: &mut impl FnMut(Completion), data: u64, res: i64) {
    if let Some(req) = ReqPtr::new(data as *mut _) {
        on(Completion::Request(req, res as isize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Aiocb;
    use crate::engine::request::{Backend, Meta};

    fn iocb_of(op: Op) -> Iocb {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        let mut a = unsafe { core::mem::zeroed::<Aiocb>() };
        // An earlier write's fields, left in the aiocb (as fio does), and odd values elsewhere.
        a.aio_fildes = 9;
        a.aio_buf = 0x1000 as *mut _;
        a.aio_nbytes = 4096;
        a.aio_offset = 8192;
        a.aio_reqprio = 3;
        a.aio_lio_opcode = 77;
        let r = ReqPtr::new(&mut a).unwrap();
        // SAFETY: `a` lives for the whole function and only this test uses it.
        let req = unsafe { r.get() };
        req.start(1, Meta::new(0, Backend::Kaio, op), core::ptr::null_mut(), core::ptr::null());
        Ctx::iocb(&req, 5)
    }

    #[test]
    fn an_fsync_iocb_names_only_the_descriptor() {
        for (op, cmd) in [(Op::Fsync, IOCB_CMD_FSYNC), (Op::Fdatasync, IOCB_CMD_FDSYNC)] {
            let i = iocb_of(op);
            assert_eq!((i.aio_lio_opcode, i.aio_fildes), (cmd, 9));
            assert_eq!((i.aio_buf, i.aio_nbytes, i.aio_offset), (0, 0, 0), "the kernel rejects anything else");
            assert_eq!((i.aio_rw_flags, i.aio_reqprio), (0, 0));
            assert_eq!((i.aio_flags, i.aio_resfd), (IOCB_FLAG_RESFD, 5));
        }
        let w = iocb_of(Op::Write);
        assert_eq!((w.aio_lio_opcode, w.aio_buf, w.aio_nbytes, w.aio_offset), (IOCB_CMD_PWRITE, 0x1000, 4096, 8192));
        assert_eq!(w.aio_reqprio, 0, "aio_reqprio is not passed on");
    }
}
