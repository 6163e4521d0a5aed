//! Kernel AIO (`io_setup`, `io_submit`, `io_getevents`, `io_destroy`), by raw system calls, and
//! the kernel's structures for it.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering::*};
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
pub(crate) const IOCB_CMD_PREADV: u16 = 7;
pub(crate) const IOCB_CMD_PWRITEV: u16 = 8;
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

    /// `io_getevents`: at least `min` completions into `events` (the first ones returned are
    /// written) unless `timeout` passes or a signal arrives. With `min == 0` it only takes what is there; with `min > 0` and no timeout it
    /// waits as long as it takes.
    pub(crate) fn getevents(
        &self,
        min: usize,
        events: &mut [MaybeUninit<IoEvent>],
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        let ts = timespec(timeout.unwrap_or_default());
        let tsp: *const libc::timespec = if min > 0 && timeout.is_none() { core::ptr::null() } else { &ts };
        let max = events.len() as libc::c_long;
        // SAFETY: `events` has room for `max` events (MaybeUninit<IoEvent> has IoEvent's layout),
        // which the kernel writes; `tsp` is NULL or points to `ts`, live.
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
        let r = self.ring();
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

    fn ring(&self) -> *const RingHeader {
        self.id as usize as *const RingHeader
    }

    /// The completions that are in the ring, taken without a system call, as `io_getevents` with
    /// no wait would, each read where it lies (no copy into a buffer) by [`RingEvents::next`].
    /// None if the ring's layout is not the one this code knows (its magic, no incompatible
    /// features, a 32-byte header), when the caller asks the kernel.
    ///
    /// The kernel writes an event at `tail`, then (after a write barrier) moves `tail`; it
    /// overwrites a slot only after `head` has moved past it (it counts the free slots from `head`
    /// when it runs short). So: `tail` is loaded with acquire ordering here, before any event is
    /// read, and `next` reads an event's fields before it moves `head` past it (a release store),
    /// and returns them after: whatever the caller then does with it (it may submit more requests
    /// into this context), the slot is no longer ours and `head` already says so, exactly as if
    /// the events had been copied out first.
    ///
    /// # Safety
    /// The caller holds the only right to consume (the context's reap lock) until it drops the
    /// result: nobody else moves `head` meanwhile, in this code or through `io_getevents`.
    #[inline(always)]
    pub(crate) unsafe fn ring_events(&self) -> Option<RingEvents> {
        let r = self.ring();
        // SAFETY: the ring header is mapped while the context lives (see `has_events`); the
        // fields other than head and tail are written by the kernel at io_setup only.
        unsafe {
            let rd = |p: *const u32| core::ptr::read_volatile(p);
            if rd(core::ptr::addr_of!((*r).magic)) != AIO_RING_MAGIC
                || rd(core::ptr::addr_of!((*r).incompat_features)) != 0
                || rd(core::ptr::addr_of!((*r).header_length)) as usize != core::mem::size_of::<RingHeader>()
            {
                return None;
            }
            let nr = rd(core::ptr::addr_of!((*r).nr));
            let head = (*r).head.load(Relaxed);
            let tail = (*r).tail.load(Acquire);
            if nr == 0 || head >= nr || tail >= nr {
                return None;
            }
            let left = if tail >= head { tail - head } else { nr - head + tail };
            Some(RingEvents { r, head, nr, left })
        }
    }
}

/// Completions in a context's ring, from its `head` to the `tail` seen (see
/// [`AioContext::ring_events`]).
pub(crate) struct RingEvents {
    r: *const RingHeader,
    head: u32,
    nr: u32,
    left: u32,
}

impl RingEvents {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.left as usize
    }

    /// The next event's data and result, `head` moved past it first (see
    /// [`AioContext::ring_events`]).
    #[inline(always)]
    pub(crate) fn next(&mut self) -> Option<(u64, i64)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // SAFETY: `ring_events` checked head < nr, and the kernel mapped nr events after the
        // 32-byte header while the context lives (its owner holds the reap lock, so it is not
        // destroyed); the slot is between head and the tail seen, so the kernel does not write it
        // until head moves past it, below.
        unsafe {
            let e = (self.r as *const u8).add(core::mem::size_of::<RingHeader>()) as *const IoEvent;
            let e = e.add(self.head as usize);
            let data = core::ptr::read_volatile(core::ptr::addr_of!((*e).data));
            let res = core::ptr::read_volatile(core::ptr::addr_of!((*e).res));
            self.head = if self.head + 1 == self.nr { 0 } else { self.head + 1 };
            (*self.r).head.store(self.head, Release);
            Some((data, res))
        }
    }
}

/// The header of the completion ring the kernel maps at a context's address (`struct aio_ring`
/// of the kernel ABI), followed by `nr` `io_event`s.
#[repr(C)]
struct RingHeader {
    id: u32,
    nr: u32,
    head: AtomicU32,
    tail: AtomicU32,
    magic: u32,
    compat_features: u32,
    incompat_features: u32,
    header_length: u32,
}

const _: () = assert!(core::mem::size_of::<RingHeader>() == 32);

const AIO_RING_MAGIC: u32 = 0xa10a_10a1;

impl Drop for AioContext {
    fn drop(&mut self) {
        // SAFETY: destroys the context this value created; the kernel cancels or waits for what
        // is still in it.
        unsafe { libc::syscall(libc::SYS_io_destroy, self.id) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_events_hands_each_completion_once_in_order_across_the_ring_wrapping() {
        let ctx = AioContext::setup(4).unwrap();
        // SAFETY: a constant NUL-terminated path.
        let fd = unsafe { libc::open(c"/dev/zero".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        assert!(fd >= 0);
        let mut buf = [[1u8; 8]; 3];
        // More completions than the ring has slots (a page: 127), so `head` wraps several times.
        for round in 0..200u64 {
            let mut iocbs: [Iocb; 3] = core::array::from_fn(|i| Iocb {
                aio_data: round * 16 + i as u64 + 1,
                aio_lio_opcode: IOCB_CMD_PREAD,
                aio_fildes: fd as u32,
                aio_buf: buf[i].as_mut_ptr() as u64,
                aio_nbytes: 8,
                ..Iocb::default()
            });
            let ptrs: [*mut Iocb; 3] = core::array::from_fn(|i| &mut iocbs[i] as *mut Iocb);
            // SAFETY: the iocbs and buffers live until their completions are taken below.
            assert_eq!(unsafe { ctx.submit(&ptrs) }, Ok(3));
            // A read of /dev/zero completes inside io_submit; bounded wait in case it does not.
            let mut tries = 0;
            // SAFETY: only this test consumes this context.
            while unsafe { ctx.ring_events() }.unwrap().len() < 3 && tries < 1000 {
                tries += 1;
                std::thread::yield_now();
            }
            // SAFETY: only this test consumes this context.
            let mut ev = unsafe { ctx.ring_events() }.expect("the ring's layout is known");
            assert_eq!(ev.len(), 3);
            for i in 0..3 {
                assert_eq!(ev.next(), Some((round * 16 + i + 1, 8)));
            }
            assert_eq!(ev.next(), None);
            assert!(!ctx.has_events(), "head was moved past every event taken");
            assert_eq!(buf, [[0u8; 8]; 3]);
            buf = [[1u8; 8]; 3];
        }
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
    }
}
