//! Kernel AIO (`io_setup`, `io_submit`, `io_getevents`, `io_destroy`), by raw system calls, and
//! the kernel's structures for it.

use core::sync::atomic::{AtomicU32, Ordering::Acquire};
use core::time::Duration;

use super::time::timespec;
use crate::errno::Errno;

/// The kernel's `struct iocb`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct Iocb {
    pub(crate) aio_data: u64,
    pub(crate) aio_key: u32,
    pub(crate) aio_rw_flags: i32,
    pub(crate) aio_lio_opcode: u16,
    pub(crate) aio_reqprio: i16,
    pub(crate) aio_fildes: u32,
    pub(crate) aio_buf: u64,
    pub(crate) aio_nbytes: u64,
    pub(crate) aio_offset: i64,
    pub(crate) aio_reserved2: u64,
    pub(crate) aio_flags: u32,
    pub(crate) aio_resfd: u32,
}

/// The kernel's `struct io_event`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct IoEvent {
    pub(crate) data: u64,
    pub(crate) obj: u64,
    pub(crate) res: i64,
    pub(crate) res2: i64,
}

const _: () = assert!(core::mem::size_of::<Iocb>() == 64);
const _: () = assert!(core::mem::size_of::<IoEvent>() == 32);

pub(crate) const IOCB_CMD_PREAD: u16 = 0;
pub(crate) const IOCB_CMD_PWRITE: u16 = 1;
pub(crate) const IOCB_CMD_FSYNC: u16 = 2;
pub(crate) const IOCB_CMD_FDSYNC: u16 = 3;
/// `aio_flags`: also count the completion on the eventfd in `aio_resfd`.
pub(crate) const IOCB_FLAG_RESFD: u32 = 1;

/// A kernel AIO context, destroyed on drop. Contexts are not inherited across `fork` (they belong
/// to the parent's address space), so a child just forgets them.
pub(crate) struct AioContext {
    id: libc::c_ulong,
}

impl AioContext {
    /// `io_setup(slots)`.
    pub(crate) fn setup(slots: u32) -> Result<AioContext, Errno> {
        let mut id: libc::c_ulong = 0;
        // SAFETY: io_setup writes the new context id into `id`, a live local.
        let r = unsafe { libc::syscall(libc::SYS_io_setup, slots as libc::c_long, &mut id) };
        if r != 0 {
            return Err(Errno::last());
        }
        Ok(AioContext { id })
    }

    /// `io_submit`: how many of `iocbs` the kernel took (at least one), or the error of the first.
    /// Thread-safe on a shared context: no lock is needed.
    ///
    /// # Safety
    /// Every pointer points to an initialised `Iocb` for the call (the kernel copies them), and the
    /// buffers they name stay valid until their completion is reaped.
    pub(crate) unsafe fn submit(&self, iocbs: &[*mut Iocb]) -> Result<usize, Errno> {
        // SAFETY: the caller guarantees the iocbs and their buffers; the array outlives the call.
        let r = unsafe { libc::syscall(libc::SYS_io_submit, self.id, iocbs.len() as libc::c_long, iocbs.as_ptr()) };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(r as usize)
        }
    }

    /// `io_getevents`: at least `min` completions into `events` unless `timeout` passes or a signal
    /// arrives. With `min == 0` it only takes what is there; with `min > 0` and no timeout it
    /// waits as long as it takes.
    pub(crate) fn getevents(
        &self,
        min: usize,
        events: &mut [IoEvent],
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        let ts = timespec(timeout.unwrap_or_default());
        let tsp: *const libc::timespec = if min > 0 && timeout.is_none() { core::ptr::null() } else { &ts };
        let max = events.len() as libc::c_long;
        // SAFETY: `events` has room for `max` events; `tsp` is NULL or points to `ts`, live.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_getevents,
                self.id,
                (min as libc::c_long).min(max),
                max,
                events.as_mut_ptr(),
                tsp,
            )
        };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(r as usize)
        }
    }

    /// Whether completions wait in the context, read from the completion ring the kernel maps into
    /// the process (the context id is its address), without a system call. An unexpected ring
    /// layout answers true, so the caller asks the kernel.
    pub(crate) fn has_events(&self) -> bool {
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
        // SAFETY: `id` is the address of the ring header the kernel mapped at io_setup and keeps
        // until io_destroy (our drop); it is only read here. The kernel writes `tail`, and `head`
        // is written by the kernel or by io_getevents callers, so both are read atomically.
        unsafe {
            if core::ptr::read_volatile(core::ptr::addr_of!((*r).magic)) != AIO_RING_MAGIC {
                return true;
            }
            (*r).head.load(Acquire) != (*r).tail.load(Acquire)
        }
    }
}

impl Drop for AioContext {
    fn drop(&mut self) {
        // SAFETY: destroys the context this value created; the kernel cancels or waits for what
        // is still in it.
        unsafe { libc::syscall(libc::SYS_io_destroy, self.id) };
    }
}
