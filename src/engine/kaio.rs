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
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering::Acquire};
use core::time::Duration;

use super::cb::{meta, Cb, Op};
use crate::errno::Errno;

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Iocb {
    aio_data: u64,
    aio_key: u32,
    aio_rw_flags: i32,
    aio_lio_opcode: u16,
    aio_reqprio: i16,
    aio_fildes: u32,
    aio_buf: u64,
    aio_nbytes: u64,
    aio_offset: i64,
    aio_reserved2: u64,
    aio_flags: u32,
    aio_resfd: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct IoEvent {
    data: u64,
    obj: u64,
    res: i64,
    res2: i64,
}

const _: () = assert!(core::mem::size_of::<Iocb>() == 64);
const _: () = assert!(core::mem::size_of::<IoEvent>() == 32);

const IOCB_CMD_PREAD: u16 = 0;
const IOCB_CMD_PWRITE: u16 = 1;
const IOCB_CMD_FSYNC: u16 = 2;
const IOCB_CMD_FDSYNC: u16 = 3;
const IOCB_FLAG_RESFD: u32 = 1;

pub struct Ctx {
    id: libc::c_ulong,
    /// Slots the context was created with: the most requests it can hold at once.
    pub slots: u32,
}

impl Ctx {
    pub fn new(slots: u32) -> Result<Ctx, Errno> {
        let mut id: libc::c_ulong = 0;
        // SAFETY: io_setup writes the new context id into `id`.
        let r = unsafe { libc::syscall(libc::SYS_io_setup, slots as libc::c_long, &mut id) };
        if r != 0 {
            return Err(Errno::last());
        }
        Ok(Ctx { id, slots })
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
            // SAFETY: ptrs[..n] were written above and point to initialised iocbs on this stack
            // frame (MaybeUninit<*mut Iocb> has the layout of *mut Iocb); the kernel copies
            // them during the call. Buffers stay valid while in flight (the POSIX contract).
            let r = unsafe { libc::syscall(libc::SYS_io_submit, self.id, n as libc::c_long, ptrs.as_mut_ptr()) };
            if r < 0 {
                let e = Errno::last();
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += r as usize;
            if (r as usize) < n {
                break;
            }
        }
        Ok(done)
    }

    /// Whether completions wait in the context, read from the completion ring the kernel maps
    /// into the process (the context id is its address), without a system call. An unexpected
    /// ring layout answers true, so the caller asks the kernel.
    pub fn has_events(&self) -> bool {
        #[repr(C)]
        struct RingHeader {
            id: u32,
            nr: u32,
            head: AtomicU32,
            tail: AtomicU32,
            magic: u32,
        }
        const AIO_RING_MAGIC: u32 = 0xa10a_10a1;
        let r = self.id as usize as *const RingHeader;
        // SAFETY: `id` is the address of the ring header mapped at io_setup and kept until
        // io_destroy (our drop); it is only read here. The kernel writes `tail` and we (under the
        // reap lock) or the kernel write `head`, so both are read atomically.
        unsafe {
            if core::ptr::read_volatile(core::ptr::addr_of!((*r).magic)) != AIO_RING_MAGIC {
                return true;
            }
            (*r).head.load(Acquire) != (*r).tail.load(Acquire)
        }
    }

    /// Takes completions: at least `min` unless `timeout` passes or a signal arrives.
    /// Calls `f(cb, res)` for each. Caller holds the queue's `reap` lock.
    pub fn reap(&self, min: usize, timeout: Option<Duration>, mut f: impl FnMut(Cb, isize)) -> Result<usize, Errno> {
        let mut total = 0;
        let mut ev = [IoEvent::default(); 64];
        let mut min = min;
        loop {
            let ts = libc::timespec {
                tv_sec: timeout.map_or(0, |d| d.as_secs() as i64),
                tv_nsec: timeout.map_or(0, |d| d.subsec_nanos() as i64),
            };
            let tsp: *const libc::timespec = if min > 0 && timeout.is_none() { ptr::null() } else { &ts };
            // SAFETY: ev has room for 64 events; tsp is NULL or points to ts.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_io_getevents,
                    self.id,
                    min.min(64) as libc::c_long,
                    64 as libc::c_long,
                    ev.as_mut_ptr(),
                    tsp,
                )
            };
            if r < 0 {
                let e = Errno::last();
                return if total > 0 { Ok(total) } else { Err(e) };
            }
            let r = r as usize;
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

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: destroys the context we created; outstanding requests are cancelled or waited
        // for by the kernel.
        unsafe { libc::syscall(libc::SYS_io_destroy, self.id) };
    }
}
