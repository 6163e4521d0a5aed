//! The per-descriptor table: what kind of file an fd is, how many requests it has in flight, and
//! the two things POSIX makes us order per fd:
//!
//! * **ordering chains**: on O_APPEND files (writes) and on non-seekable files (reads and writes,
//!   each direction separately) at most one request per direction is issued at a time; later ones
//!   wait in `chain[dir]` and are issued in submission order as each one completes;
//! * **fsync barriers**: `aio_fsync` is issued only once every earlier request on the fd is complete;
//!   requests submitted after it wait (in `waitq`, in order) until it completes.
//!
//! Requests that need neither (random reads and writes with no barrier pending) take a lock-free
//! fast path: one atomic increment of `inflight` at submission and one decrement at completion.
//! The protocol between that fast path and a barrier is argued in [`FdEntry::slow`].

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use super::cb::{meta, phase, Cb, List};
use super::{Batch, Engine};
use crate::errno::Errno;
use crate::sys::Lock;

/// Classification bits cached in `FdEntry::info`.
pub mod kind {
    pub(crate) const VALID: u32 = 1;
    /// Not seekable (pipe, socket, character device): offsets are ignored, order is kept.
    pub(crate) const STREAM: u32 = 2;
    /// Opened with O_DIRECT on a regular file or block device: kernel AIO is truly async.
    pub(crate) const DIRECT: u32 = 4;
    /// Opened with O_APPEND: writes keep submission order.
    pub(crate) const APPEND: u32 = 8;
    /// Not stored: this answer comes from the cache without a check (see `FdEntry::classify`).
    pub(crate) const UNCHECKED: u32 = 16;
}

/// Bits of `FdEntry::events`: what completions happened since the last evaluation.
const EV_READ_FREE: u32 = 1;
const EV_WRITE_FREE: u32 = 2;
const EV_BARRIER_DONE: u32 = 4;

pub struct FdLists {
    chain: [List; 2],
    busy: [bool; 2],
    waitq: List,
    barrier: bool,
    /// Hold new requests until nothing is in flight (the class changed under requests in flight).
    drain: bool,
}

pub struct FdEntry {
    pub fd: AtomicI32,
    info: AtomicU32,
    /// Identity of the file the cached class describes (device, inode and type, mixed).
    ident: AtomicU64,
    /// 1 when the class was checked since the fd was last idle.
    fresh: AtomicU32,
    /// Requests issued on this fd and not yet complete.
    pub inflight: AtomicU32,
    /// Non-zero while a barrier is issued or requests wait in `waitq`.
    ///
    /// Fast-path submitters read it (SeqCst) and go to the slow path when set. Completions
    /// decrement `inflight` (SeqCst) and *then* read `slow` (SeqCst); a barrier sets `slow`
    /// (SeqCst) and *then* reads `inflight`. In the single total order of SeqCst operations,
    /// either the barrier's read sees the decrement (and it issues itself if that was the last),
    /// or the completion's read of `slow` comes after the barrier's store and sees it (and the
    /// completion kicks the fd). So a barrier can never wait for a completion that already left.
    pub slow: AtomicU32,
    events: AtomicU32,
    /// Non-zero while `aio_cancel(fd, NULL)` has a ring-wide cancel for this fd outstanding.
    pub cancelling: AtomicU32,
    kick_next: AtomicPtr<FdEntry>,
    kick_queued: AtomicU32,
    lists: Lock<FdLists>,
}

impl FdEntry {
    const fn new() -> Self {
        FdEntry {
            fd: AtomicI32::new(-1),
            info: AtomicU32::new(0),
            ident: AtomicU64::new(0),
            fresh: AtomicU32::new(0),
            inflight: AtomicU32::new(0),
            slow: AtomicU32::new(0),
            events: AtomicU32::new(0),
            cancelling: AtomicU32::new(0),
            kick_next: AtomicPtr::new(ptr::null_mut()),
            kick_queued: AtomicU32::new(0),
            lists: Lock::new(FdLists {
                chain: [List::new(), List::new()],
                busy: [false, false],
                waitq: List::new(),
                barrier: false,
                drain: false,
            }),
        }
    }

    /// The cached classification, checked whenever the fd is idle (nothing in flight and nothing
    /// waiting): a descriptor number may have been closed and reopened as another file since we
    /// last saw it, and we cannot observe `close`. The check is one `fstat`: if the file's
    /// identity (device, inode, type) is unchanged, the cached open flags are kept; otherwise they
    /// are read again with `fcntl(F_GETFL)`. While requests are in flight the fd cannot change
    /// under them, so the cache is used as is.
    ///
    /// Known limit: `fcntl(F_SETFL)` toggling O_APPEND or O_DIRECT on an fd we already know, or
    /// the same file reopened with other flags, is seen only when the identity changes. The
    /// effect is bounded: ordering for appends that nothing else would order, or kernel AIO used on
    /// a buffered file (it then completes inside `io_submit`).
    ///
    /// A lone request (the fd idle) on a queue with io_uring (`lone_ok`) skips even that check,
    /// because whatever the fd has become, io_uring gets an offset that is right for it: a
    /// buffered file's request carries its explicit offset, which is right for any seekable file
    /// and ignored by pipes, ttys and character devices (a socket answers ESPIPE without being
    /// touched, and the reaper re-issues the request as a stream); a stream's request carries
    /// offset 0, which is right for a stream and, when `aio_offset` is 0 (`offset_zero`; else we
    /// check), for a file too. Ordering cannot matter for a lone request; a stale O_APPEND or
    /// stream class only orders what needed no ordering. Such an answer carries
    /// `kind::UNCHECKED`, and an unchecked O_DIRECT request goes to io_uring, not to kernel AIO,
    /// where a stale class could make `io_submit` block on a pipe. The first request that finds others in flight checks the class;
    /// if it changed to one that needs ordering, the second return value is true and the caller
    /// drains the fd before issuing.
    pub fn classify(&self, fd: c_int, lone_ok: bool, offset_zero: bool) -> Result<(u32, bool), Errno> {
        let cached = self.info.load(Relaxed);
        let busy = self.inflight.load(Relaxed) != 0 || self.slow.load(Relaxed) != 0;
        if cached & kind::VALID != 0 {
            if busy && self.fresh.load(Relaxed) != 0 {
                return Ok((cached, false));
            }
            if !busy && lone_ok && (cached & kind::STREAM == 0 || offset_zero) {
                self.fresh.store(0, Relaxed);
                return Ok((cached | kind::UNCHECKED, false));
            }
        }
        let id = crate::sys::file_id(fd)?;
        let ident = id.ident;
        let fresh = if cached & kind::VALID != 0 && self.ident.load(Relaxed) == ident {
            cached
        } else {
            class_of(id.format, crate::sys::status_flags(fd)?)
        };
        self.ident.store(ident, Relaxed);
        self.info.store(fresh, Relaxed);
        self.fresh.store(1, Relaxed);
        let order_bits = kind::STREAM | kind::APPEND;
        Ok((fresh, busy && (fresh & order_bits) != (cached & order_bits)))
    }

    /// Forgets the class (a completion showed it was stale).
    pub fn invalidate(&self) {
        self.info.store(0, Relaxed);
    }
}

/// The class bits for a file of type `fmt` (`S_IFMT` bits) opened with flags `fl`.
pub fn class_of(fmt: libc::mode_t, fl: c_int) -> u32 {
    let mut k = kind::VALID;
    if matches!(fmt, libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFCHR) {
        k |= kind::STREAM;
    }
    if fl & libc::O_DIRECT != 0 && matches!(fmt, libc::S_IFREG | libc::S_IFBLK) {
        k |= kind::DIRECT;
    }
    if fl & libc::O_APPEND != 0 {
        k |= kind::APPEND;
    }
    k
}

const CHUNK: usize = 1024;
const CHUNKS: usize = 4096;

/// Two-level table indexed by descriptor number; chunks are allocated on first use and never
/// freed while the engine lives, so `&FdEntry` references are `'static` for the engine.
pub struct FdTable {
    chunks: Box<[AtomicPtr<FdEntry>]>,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub fn new() -> Self {
        FdTable { chunks: (0..CHUNKS).map(|_| AtomicPtr::new(ptr::null_mut())).collect() }
    }

    /// The entry for `fd`, allocating its chunk if needed (not async-signal-safe).
    pub fn entry(&self, fd: c_int) -> Result<&FdEntry, Errno> {
        if fd < 0 || fd as usize >= CHUNK * CHUNKS {
            return Err(Errno::EBADF);
        }
        let (c, i) = (fd as usize / CHUNK, fd as usize % CHUNK);
        let mut p = self.chunks[c].load(Acquire);
        if p.is_null() {
            let fresh: Box<[FdEntry]> = (0..CHUNK).map(|_| FdEntry::new()).collect();
            let fresh = Box::into_raw(fresh) as *mut FdEntry;
            match self.chunks[c].compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
                Ok(_) => p = fresh,
                Err(existing) => {
                    // SAFETY: we created `fresh` above and nobody else has seen it.
                    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                    p = existing;
                }
            }
        }
        // SAFETY: p points to a live chunk of CHUNK entries that is never freed.
        let e = unsafe { &*p.add(i) };
        if e.fd.load(Relaxed) != fd {
            e.fd.store(fd, Relaxed);
        }
        Ok(e)
    }

    /// The entry for `fd` if its chunk exists (async-signal-safe).
    pub fn get(&self, fd: c_int) -> Option<&FdEntry> {
        if fd < 0 || fd as usize >= CHUNK * CHUNKS {
            return None;
        }
        let p = self.chunks[fd as usize / CHUNK].load(Acquire);
        // SAFETY: as in `entry`.
        (!p.is_null()).then(|| unsafe { &*p.add(fd as usize % CHUNK) })
    }
}

/// Lock-free stack of fds whose lists need re-evaluation by a helper thread; one consumer.
/// Same argument as `cb::Stack`: pushes are Treiber pushes, the consumer only swaps the whole
/// chain out, so there is no ABA. `kick_queued` keeps an entry in the stack at most once.
pub struct KickStack {
    head: AtomicPtr<FdEntry>,
}

impl KickStack {
    pub(crate) const fn new() -> Self {
        KickStack { head: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Returns false if the entry was already queued. Async-signal-safe.
    pub fn push(&self, e: &FdEntry) -> bool {
        if e.kick_queued.swap(1, AcqRel) != 0 {
            return false;
        }
        let node = e as *const FdEntry as *mut FdEntry;
        let mut h = self.head.load(Relaxed);
        loop {
            e.kick_next.store(h, Relaxed);
            match self.head.compare_exchange_weak(h, node, Release, Relaxed) {
                Ok(_) => return true,
                Err(now) => h = now,
            }
        }
    }

    pub fn take_all(&self, mut f: impl FnMut(&FdEntry)) {
        let mut cur = self.head.swap(ptr::null_mut(), Acquire);
        while !cur.is_null() {
            // SAFETY: entries live as long as the engine.
            let e = unsafe { &*cur };
            cur = e.kick_next.load(Relaxed);
            e.kick_queued.store(0, Release);
            f(e);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.load(Relaxed).is_null()
    }
}

/// Admits a request that must take the slow path (ordered, a barrier, or the fd has a barrier).
/// Runs with the fd lock taken here; whatever can be issued goes into `batch`.
///
/// # Safety
/// `cb` is a live, accepted request not in any list.
pub unsafe fn slow_submit(eng: &Engine, fe: &FdEntry, cb: Cb, drain: bool, batch: &mut Batch) {
    let mut l = fe.lists.lock();
    if drain && fe.inflight.load(SeqCst) != 0 {
        l.drain = true;
    }
    // SAFETY: cb is live (caller).
    let m = unsafe { cb.meta().load(Relaxed) };
    if m & meta::BARRIER != 0 {
        fe.slow.store(1, SeqCst);
        let quiet = l.waitq.is_empty() && !l.barrier && !l.drain && l.chain.iter().all(List::is_empty);
        if quiet && fe.inflight.load(SeqCst) == 0 {
            l.barrier = true;
            // SAFETY: cb is live and in no list.
            unsafe { admit(eng, fe, &mut l, cb, batch) };
        } else {
            // SAFETY: cb is live and in no list.
            unsafe { wait_in(eng, &mut l.waitq, cb) };
        }
    } else if l.barrier || l.drain || !l.waitq.is_empty() {
        fe.slow.store(1, SeqCst);
        // SAFETY: cb is live and in no list.
        unsafe { wait_in(eng, &mut l.waitq, cb) };
    } else {
        // SAFETY: cb is live and in no list.
        unsafe { admit(eng, fe, &mut l, cb, batch) };
    }
    fe.slow.store((l.barrier || l.drain || !l.waitq.is_empty()) as u32, SeqCst);
}

/// Parks `cb` in one of the fd's waiting lists.
///
/// Every waiting request counts once in the engine's `force_watch`, so that while anything
/// waits on an fd, every helper reaps its queue promptly: a waiting request depends on
/// completions that may be in any queue and that nobody else may be waiting for. Each exit
/// from a waiting list (`unwait`) takes the count back.
///
/// # Safety
/// `cb` live and in no list.
unsafe fn wait_in(eng: &Engine, list: &mut List, cb: Cb) {
    // SAFETY: forwarded.
    unsafe {
        cb.state().store(phase::WAITING, Release);
        list.push_back(cb);
    }
    eng.force_watch_inc();
}

/// Takes back the `force_watch` count of `n` requests that left the waiting lists.
fn unwait(eng: &Engine, n: usize) {
    for _ in 0..n {
        eng.force_watch_dec();
    }
}

/// Issues `cb` unless its direction is busy on an ordered fd, in which case it joins the chain.
///
/// # Safety
/// `cb` live and in no list; `l` is this fd's locked lists.
unsafe fn admit(eng: &Engine, fe: &FdEntry, l: &mut FdLists, cb: Cb, batch: &mut Batch) {
    // SAFETY: forwarded.
    let m = unsafe { cb.meta().load(Relaxed) };
    if m & meta::ORDERED != 0 {
        let d = super::cb::Op::from_bits(m).dir();
        if l.busy[d] {
            // SAFETY: forwarded.
            unsafe { wait_in(eng, &mut l.chain[d], cb) };
            return;
        }
        l.busy[d] = true;
    }
    fe.inflight.fetch_add(1, SeqCst);
    // SAFETY: forwarded.
    unsafe {
        cb.meta().fetch_or(meta::COUNTED, Relaxed);
        batch.push(cb);
    }
}

/// Completion-side bookkeeping for a request that was counted in `inflight`.
/// `blocking` is false in contexts that must not wait for a lock (possibly a signal handler).
pub fn complete(eng: &Engine, q: usize, fe: &FdEntry, m: u32, blocking: bool) {
    if m & meta::ORDERED != 0 {
        let d = super::cb::Op::from_bits(m).dir();
        fe.events.fetch_or(if d == 0 { EV_READ_FREE } else { EV_WRITE_FREE }, SeqCst);
    }
    if m & meta::BARRIER != 0 {
        fe.events.fetch_or(EV_BARRIER_DONE, SeqCst);
    }
    fe.inflight.fetch_sub(1, SeqCst);
    if m & (meta::ORDERED | meta::BARRIER) != 0 || fe.slow.load(SeqCst) != 0 {
        kick(eng, q, fe, blocking);
    }
}

/// Re-evaluates the fd's lists now if its lock can be had, else hands that to queue `q`'s helper.
pub fn kick(eng: &Engine, q: usize, fe: &FdEntry, blocking: bool) {
    let guard = if blocking { Some(fe.lists.lock()) } else { fe.lists.try_lock() };
    match guard {
        Some(mut l) => {
            let mut batch = Batch::new(eng, blocking);
            evaluate(eng, fe, &mut l, &mut batch);
            drop(l);
            batch.flush();
        }
        None => eng.defer_kick(q, fe),
    }
}

/// Issues whatever the completions recorded in `events` allow, in submission order.
fn evaluate(eng: &Engine, fe: &FdEntry, l: &mut FdLists, batch: &mut Batch) {
    let ev = fe.events.swap(0, SeqCst);
    if ev & EV_READ_FREE != 0 {
        l.busy[0] = false;
    }
    if ev & EV_WRITE_FREE != 0 {
        l.busy[1] = false;
    }
    if ev & EV_BARRIER_DONE != 0 {
        l.barrier = false;
    }
    if l.drain && fe.inflight.load(SeqCst) == 0 {
        l.drain = false;
    }
    loop {
        for d in 0..2 {
            if !l.busy[d] {
                if let Some(cb) = l.chain[d].pop_front() {
                    unwait(eng, 1);
                    // SAFETY: cb was a member of the chain, so live and now in no list.
                    unsafe { admit(eng, fe, l, cb, batch) };
                }
            }
        }
        if l.barrier || l.drain {
            break;
        }
        let Some(head) = l.waitq.front() else { break };
        // SAFETY: head is a live member of waitq.
        let m = unsafe { head.meta().load(Relaxed) };
        if m & meta::BARRIER != 0 {
            let quiet = l.chain.iter().all(List::is_empty) && !l.busy[0] && !l.busy[1];
            if quiet && fe.inflight.load(SeqCst) == 0 {
                l.waitq.pop_front();
                unwait(eng, 1);
                l.barrier = true;
                // SAFETY: head was just unlinked.
                unsafe { admit(eng, fe, l, head, batch) };
            }
            break;
        }
        l.waitq.pop_front();
        unwait(eng, 1);
        // SAFETY: head was just unlinked.
        unsafe { admit(eng, fe, l, head, batch) };
    }
    fe.slow.store((l.barrier || l.drain || !l.waitq.is_empty()) as u32, SeqCst);
}

/// Removes `cb` from this fd's lists if it waits there. Returns whether it was removed; the
/// caller then finishes it (it never touched the fd).
pub fn unlink_waiting(eng: &Engine, fe: &FdEntry, cb: Cb) -> bool {
    let mut l = fe.lists.lock();
    // SAFETY: the lock owns WAITING requests; the state is re-checked under it.
    if unsafe { cb.state().load(Acquire) } != phase::WAITING {
        return false;
    }
    let removed = l.waitq.remove(cb) || l.chain[0].remove(cb) || l.chain[1].remove(cb);
    if removed {
        unwait(eng, 1);
        // Removing a barrier may release the requests held behind it.
        let mut batch = Batch::new(eng, true);
        evaluate(eng, fe, &mut l, &mut batch);
        drop(l);
        batch.flush();
    }
    removed
}

/// Removes every request waiting on this fd; returns them for the caller to finish.
pub fn unlink_all_waiting(eng: &Engine, fe: &FdEntry) -> List {
    let mut l = fe.lists.lock();
    let mut out = l.waitq.drain_filter(|_| true);
    let c0 = l.chain[0].drain_filter(|_| true);
    let c1 = l.chain[1].drain_filter(|_| true);
    out = concat(concat(out, c0), c1);
    unwait(eng, out.len);
    fe.slow.store((l.barrier || l.drain) as u32, SeqCst);
    out
}

fn concat(mut a: List, mut b: List) -> List {
    while let Some(cb) = b.pop_front() {
        // SAFETY: cb was just unlinked from b.
        unsafe { a.push_back(cb) };
    }
    a
}
