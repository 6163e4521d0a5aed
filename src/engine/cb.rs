//! Per-request state kept in the private fields of the caller's `struct aiocb`.
//!
//! The request *is* the caller's aiocb: nothing is allocated per request (a SIGEV_THREAD
//! notification is the one exception, see `aux`). glibc reserves 48 bytes of the structure for
//! its implementation; we use them so:
//!
//! | offset | glibc name           | our use                                                   |
//! |--------|----------------------|-----------------------------------------------------------|
//! | 96     | `__next_prio`        | `link`: next request in an intrusive user-space list       |
//! | 104    | `__abs_prio`         | `state`: phase of the request ([`phase`]), atomic          |
//! | 108    | `__policy`           | `meta`: queue, route, opcode and flags ([`meta`])          |
//! | 112    | `__error_code`       | status, atomic: EINPROGRESS until done (the POSIX field)   |
//! | 120    | `__return_value`     | result (the POSIX field), written before the status        |
//! | 136    | `__glibc_reserved`   | `tag`: marks the aiocb as in flight in this process        |
//! | 144    |                      | `aux`: side block for a SIGEV_THREAD notification          |
//! | 152    |                      | `group`: the lio_listio group it belongs to, or NULL       |
//! | 160    |                      | `progress`: bytes already written by a partial stream write |
//!
//! Once the status leaves EINPROGRESS the caller may reuse or free the aiocb at once, so the
//! completion path reads everything it needs out of it *before* publishing the status and never
//! touches it afterwards (see `engine::finish`).

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use crate::abi::Aiocb;

/// Request phases stored in `state` (low byte; the upper bytes carry a worker index).
pub mod phase {
    /// Not in flight (never submitted, or finished).
    pub(crate) const IDLE: u32 = 0;
    /// Waiting in a per-fd list (ordering chain or behind an fsync barrier); owned by the fd lock.
    pub(crate) const WAITING: u32 = 1;
    /// Waiting in a worker queue; owned by the queue's work lock.
    pub(crate) const QUEUED: u32 = 2;
    /// A worker waits for the descriptor to become ready; has not touched it yet.
    pub(crate) const POLLING: u32 = 3;
    /// `aio_cancel` asked the worker polling for it to drop it.
    pub(crate) const CANCELLING: u32 = 4;
    /// Handed to the kernel or being executed by a worker.
    pub(crate) const ISSUED: u32 = 5;
    /// Waiting for the queue's helper thread to hand it to the kernel.
    pub(crate) const DEFERRED: u32 = 6;
    /// Finished (status published or about to be).
    pub(crate) const DONE: u32 = 7;
    /// Flag (above the phase and worker bytes): `aio_cancel` asked io_uring to cancel it, so an
    /// ECANCELED completion is the answer to that request, not the kernel's doing.
    pub(crate) const CANCEL_REQ: u32 = 1 << 16;
}

/// Bits of `meta`.
pub mod meta {
    pub(crate) const QUEUE_MASK: u32 = 0xffff;
    pub(crate) const ROUTE_SHIFT: u32 = 16;
    pub(crate) const ROUTE_MASK: u32 = 3 << ROUTE_SHIFT;
    pub(crate) const OP_SHIFT: u32 = 18;
    pub(crate) const OP_MASK: u32 = 3 << OP_SHIFT;
    /// Must keep submission order with other requests of its direction on the fd.
    pub(crate) const ORDERED: u32 = 1 << 20;
    /// An `aio_fsync` acting as a barrier (always set on fsyncs).
    pub(crate) const BARRIER: u32 = 1 << 21;
    /// Counted in its queue's `watch`: its completion must be reaped promptly by someone.
    pub(crate) const WATCHED: u32 = 1 << 22;
    /// The descriptor is not seekable: the offset is ignored.
    pub(crate) const STREAM: u32 = 1 << 23;
    /// Counted in the fd's in-flight count (it was issued, not only queued on the fd).
    pub(crate) const COUNTED: u32 = 1 << 24;
}

/// Operation codes kept in `meta`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Read = 0,
    Write = 1,
    Fsync = 2,
    Fdatasync = 3,
}

impl Op {
    pub fn from_bits(m: u32) -> Op {
        match (m & meta::OP_MASK) >> meta::OP_SHIFT {
            0 => Op::Read,
            1 => Op::Write,
            2 => Op::Fsync,
            _ => Op::Fdatasync,
        }
    }
    pub fn is_sync(self) -> bool {
        matches!(self, Op::Fsync | Op::Fdatasync)
    }
    /// The ordering direction: reads and writes are ordered separately on a stream.
    pub fn dir(self) -> usize {
        (self == Op::Write) as usize
    }
}

/// Where a request was sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    Uring = 1,
    Kaio = 2,
    Threads = 3,
}

impl Route {
    pub fn from_bits(m: u32) -> Route {
        match (m & meta::ROUTE_MASK) >> meta::ROUTE_SHIFT {
            1 => Route::Uring,
            2 => Route::Kaio,
            _ => Route::Threads,
        }
    }
    pub fn bits(self) -> u32 {
        (self as u32) << meta::ROUTE_SHIFT
    }
}

const TAG_MAGIC: u64 = 0x0a10_a5e5_0000_0000;

/// Accessors for one aiocb. All take the raw pointer: the caller guarantees it is valid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cb(pub *mut Aiocb);

// SAFETY: a Cb is only a pointer; the protocol in this module decides who may touch the aiocb.
unsafe impl Send for Cb {}
// SAFETY: as for Send: sharing the pointer grants nothing by itself.
unsafe impl Sync for Cb {}

impl Cb {
    /// # Safety
    /// `self.0` must point to a live aiocb (8-byte aligned, as any `struct aiocb` is).
    unsafe fn field<T>(self, off: usize) -> &'static T {
        // SAFETY: the caller guarantees the aiocb is live; every offset used below is inside the
        // 168-byte structure and aligned for T (checked by the layout asserts in abi.rs).
        unsafe { &*((self.0 as *mut u8).add(off) as *const T) }
    }

    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn link(self) -> &'static AtomicPtr<Aiocb> {
        // SAFETY: forwarded.
        unsafe { self.field(96) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn state(self) -> &'static AtomicU32 {
        // SAFETY: forwarded.
        unsafe { self.field(104) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn meta(self) -> &'static AtomicU32 {
        // SAFETY: forwarded.
        unsafe { self.field(108) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn error(self) -> &'static AtomicI32 {
        // SAFETY: forwarded.
        unsafe { self.field(112) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn ret(self) -> &'static AtomicU64 {
        // SAFETY: forwarded.
        unsafe { self.field(120) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn tag(self) -> &'static AtomicU64 {
        // SAFETY: forwarded.
        unsafe { self.field(136) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn aux(self) -> &'static AtomicPtr<u8> {
        // SAFETY: forwarded.
        unsafe { self.field(144) }
    }
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn group(self) -> &'static AtomicPtr<u8> {
        // SAFETY: forwarded.
        unsafe { self.field(152) }
    }

    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn progress(self) -> &'static AtomicU64 {
        // SAFETY: forwarded.
        unsafe { self.field(160) }
    }

    /// The tag value meaning "in flight in engine generation `epoch`".
    pub fn tag_value(self, epoch: u64) -> u64 {
        (self.0 as u64) ^ TAG_MAGIC ^ (epoch << 48)
    }

    /// Whether this aiocb is in flight in the current engine generation.
    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn in_flight(self, epoch: u64) -> bool {
        // SAFETY: forwarded.
        unsafe { self.tag().load(Acquire) == self.tag_value(epoch) }
    }

    ///
    /// # Safety
    /// See [`Cb::field`].
    pub unsafe fn fd(self) -> c_int {
        // SAFETY: forwarded; the caller does not modify the aiocb while it is in flight.
        unsafe { ptr::addr_of!((*self.0).aio_fildes).read() }
    }

    /// Publishes the final result: return value first, then the status with release ordering,
    /// so that whoever sees the status (acquire) also sees the return value.
    ///
    /// # Safety
    /// See [`Cb::field`]. The aiocb must not be touched after this call.
    pub unsafe fn publish(self, res: isize) {
        // SAFETY: forwarded.
        unsafe {
            self.tag().store(0, Relaxed);
            self.state().store(phase::DONE, Relaxed);
            let (ret, err) = if res < 0 { (-1isize, (-res) as i32) } else { (res, 0) };
            self.ret().store(ret as u64, Relaxed);
            self.error().store(err, Release);
        }
    }
}

/// An intrusive FIFO of aiocbs linked through `link`. Owned by whoever holds its lock.
pub struct List {
    head: *mut Aiocb,
    tail: *mut Aiocb,
    pub len: usize,
}

// SAFETY: a List is only touched under the lock of the structure that contains it.
unsafe impl Send for List {}

impl List {
    pub(crate) const fn new() -> Self {
        List { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    pub fn front(&self) -> Option<Cb> {
        (!self.head.is_null()).then_some(Cb(self.head))
    }

    ///
    /// # Safety
    /// `cb` is live and in no other list.
    pub unsafe fn push_back(&mut self, cb: Cb) {
        // SAFETY: cb and the current tail are live members of this list.
        unsafe {
            cb.link().store(ptr::null_mut(), Relaxed);
            if self.tail.is_null() {
                self.head = cb.0;
            } else {
                Cb(self.tail).link().store(cb.0, Relaxed);
            }
        }
        self.tail = cb.0;
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Cb> {
        let h = self.front()?;
        // SAFETY: h is a live member of this list.
        self.head = unsafe { h.link().load(Relaxed) };
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        Some(h)
    }

    /// Removes `cb` if it is a member; O(n).
    pub fn remove(&mut self, cb: Cb) -> bool {
        let mut prev: *mut Aiocb = ptr::null_mut();
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: every member is live while it is in the list.
            let next = unsafe { Cb(cur).link().load(Relaxed) };
            if cur == cb.0 {
                if prev.is_null() {
                    self.head = next;
                } else {
                    // SAFETY: prev is a live member.
                    unsafe { Cb(prev).link().store(next, Relaxed) };
                }
                if self.tail == cur {
                    self.tail = prev;
                }
                self.len -= 1;
                return true;
            }
            prev = cur;
            cur = next;
        }
        false
    }

    /// Removes and returns every member for which `pick` is true, in order.
    pub fn drain_filter(&mut self, mut pick: impl FnMut(Cb) -> bool) -> List {
        let mut kept = List::new();
        let mut out = List::new();
        while let Some(cb) = self.pop_front() {
            // SAFETY: cb was just unlinked from this list and is in no other.
            unsafe {
                if pick(cb) {
                    out.push_back(cb)
                } else {
                    kept.push_back(cb)
                }
            }
        }
        *self = kept;
        out
    }
}

/// A lock-free LIFO of aiocbs linked through `link`, with many producers and ONE consumer that
/// takes the whole stack at once.
///
/// Why it is correct: `push` is the classic Treiber push (read head, point the new node at it,
/// CAS head from that value to the node; retry on failure), which is linearisable. There is no
/// single-node pop, only `take_all`, a `swap(null)`: so ABA cannot arise (ABA needs a pop that
/// reads `head.next` and then CASes head), and a node is never read by the consumer before the
/// release CAS that published its link has been acquired by the swap.
pub struct Stack {
    head: AtomicPtr<Aiocb>,
}

impl Stack {
    pub(crate) const fn new() -> Self {
        Stack { head: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Async-signal-safe.
    ///
    /// # Safety
    /// `cb` is live and in no list.
    pub unsafe fn push(&self, cb: Cb) {
        let mut h = self.head.load(Relaxed);
        loop {
            // SAFETY: cb is live and owned by the pusher until the CAS succeeds.
            unsafe { cb.link().store(h, Relaxed) };
            match self.head.compare_exchange_weak(h, cb.0, Release, Relaxed) {
                Ok(_) => return,
                Err(now) => h = now,
            }
        }
    }

    /// Takes everything, oldest first.
    pub fn take_all(&self) -> List {
        let mut cur = self.head.swap(ptr::null_mut(), Acquire);
        let mut out = List::new();
        // Reverse the LIFO chain to restore submission order.
        let mut rev: *mut Aiocb = ptr::null_mut();
        while !cur.is_null() {
            // SAFETY: nodes in the taken chain are live and now exclusively ours.
            let next = unsafe { Cb(cur).link().load(Relaxed) };
            // SAFETY: as above.
            unsafe { Cb(cur).link().store(rev, Relaxed) };
            rev = cur;
            cur = next;
        }
        while !rev.is_null() {
            // SAFETY: as above.
            let next = unsafe { Cb(rev).link().load(Relaxed) };
            // SAFETY: as above; each node is pushed once.
            unsafe { out.push_back(Cb(rev)) };
            rev = next;
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.head.load(Relaxed).is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[allow(clippy::vec_box)] // boxes: each aiocb keeps its address
    fn blocks(n: usize) -> Vec<Box<Aiocb>> {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        (0..n).map(|_| Box::new(unsafe { core::mem::zeroed::<Aiocb>() })).collect()
    }

    #[test]
    fn list_keeps_order_and_removes() {
        let mut v = blocks(5);
        let cbs: Vec<Cb> = v.iter_mut().map(|b| Cb(&mut **b)).collect();
        let mut l = List::new();
        for &cb in &cbs {
            // SAFETY: each block is live and in no list.
            unsafe { l.push_back(cb) };
        }
        assert!(l.remove(cbs[2]));
        assert!(!l.remove(cbs[2]));
        let odd = l.drain_filter(|cb| cb == cbs[1] || cb == cbs[3]);
        assert_eq!(odd.len, 2);
        assert_eq!(l.pop_front(), Some(cbs[0]));
        assert_eq!(l.pop_front(), Some(cbs[4]));
        assert_eq!(l.pop_front(), None);
    }

    /// Four producers push 10,000 nodes each while one consumer takes batches: every node comes
    /// out exactly once, and each producer's nodes come out in the order it pushed them.
    #[test]
    fn stack_many_producers_one_consumer() {
        const P: usize = 4;
        const N: usize = 10_000;
        let mut v = blocks(P * N);
        for (i, b) in v.iter_mut().enumerate() {
            b.aio_offset = i as i64;
        }
        let addrs: Vec<usize> = v.iter_mut().map(|b| &mut **b as *mut Aiocb as usize).collect();
        let st = Arc::new(Stack::new());
        let producers: Vec<_> = (0..P)
            .map(|p| {
                let st = st.clone();
                let mine: Vec<usize> = addrs[p * N..(p + 1) * N].to_vec();
                std::thread::spawn(move || {
                    for a in mine {
                        // SAFETY: each node is live and pushed once.
                        unsafe { st.push(Cb(a as *mut Aiocb)) };
                    }
                })
            })
            .collect();
        let mut seen = vec![false; P * N];
        let mut last = [-1i64; P];
        let mut got = 0;
        while got < P * N {
            let mut l = st.take_all();
            while let Some(cb) = l.pop_front() {
                // SAFETY: nodes are live boxes owned by this test.
                let off = unsafe { (*cb.0).aio_offset };
                let (p, k) = (off as usize / N, off);
                assert!(!seen[off as usize], "node {off} taken twice");
                seen[off as usize] = true;
                assert!(k > last[p], "producer {p} out of order");
                last[p] = k;
                got += 1;
            }
        }
        for t in producers {
            t.join().unwrap();
        }
        assert!(st.is_empty());
    }
}
