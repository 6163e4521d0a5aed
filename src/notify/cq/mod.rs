//! Completion queues: a descriptor a program can put in its own `epoll` set, readable while
//! completions wait on it (`aio_rs_cq_create`), the requests that ask for it through their
//! sigevent (`AIO_RS_SIGEV_QUEUE`, the queue's descriptor in `sigev_signo`), and the harvest of
//! what completed (`aio_rs_cq_harvest`, `aio_waitcomplete`, driven by `engine::cq`).
//!
//! # What a queue is
//!
//! The program's descriptor is an epoll instance of the library's. Inside it are an eventfd the
//! library signals when it finishes a request of the queue itself (a worker's, a cancelled one,
//! one a helper or another thread reaped), and, edge-triggered, the kernel completion sources
//! the queue's requests went to: the io_uring ring descriptor, and the eventfd kernel AIO signals
//! for every iocb (`IOCB_FLAG_RESFD`) of each engine queue involved ([`QueueRef::attach`]). So when
//! the kernel completes a request, it wakes the program's `epoll_wait` itself: one wake-up, no
//! helper thread in between; the harvest then reaps that source and finds the request.
//!
//! # Entries, exactly once
//!
//! A request that asks for a queue gets an entry ([`Node`]) at submission ([`QueueRef::reserve`]),
//! kept in the aiocb's job slot. `engine::complete::finish` publishes the request's status and
//! only then hands the entry to [`complete`], which pushes it on the queue's `done` stack (the
//! crate's lock-free `sys::Stack`, async-signal-safe). Harvesters take entries off it; each entry
//! is taken by exactly one `take_all` (each is a swap of the head: disjoint chains, so several
//! harvesters may take at once), and what a harvester cannot hand out goes to `ready`, a list
//! under a try-lock. The entry, not the aiocb, carries the completion, because the program may
//! reuse or free an aiocb as soon as its status is final, before the harvest: the harvest never
//! reads an aiocb. Used entries go back to the queue's `spare` stack for reuse; entries are
//! allocated in chunks and never freed (nothing is freed where a harvest may run: in a signal
//! handler).
//!
//! # Closing, and descriptors that are not ours any more
//!
//! The library keeps its own duplicate of the epoll descriptor (`ep`) and an eventfd (`efd`),
//! both tagged (`sys::mark`; the tag is the open file's, so the program's number carries it too).
//! Before a request is accepted for a queue by its number, and before a harvest that found
//! nothing waits on it, the number is checked to still be tagged ([`Cq::still_named`]); once the
//! program has closed it (`close`, `closefrom`, or `aio_rs_cq_close`), the queue is closed: the
//! library closes its own two descriptors (after checking they are still its own) when the last
//! user leaves ([`Cq::enter`]), never touches the program's number again, and the requests still pointing at the queue complete as usual, their
//! status in the aiocb (their entries are recycled, not queued). Queue objects are never freed,
//! only reused with a new generation, so a stale reference is never dangling: it just fails to
//! enter.

mod entry;
mod harvest;
mod open;
mod repair;
mod stream;

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

use self::entry::Fifo;
pub(crate) use self::entry::Node;
pub(crate) use self::harvest::{complete, Completed, Harvest, LOST_NAP};
pub(crate) use self::stream::{stream_of, stream_tag, watch_stream, SEQ_MASK};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::ext::AIO_RS_WAITCOMPLETE_QUEUE;
use crate::sys::{self, Lock, Stack};

/// Engine queues a request of a queue may be on (the engine has at most this many).
pub(crate) const MAX_QUEUES: usize = 64;

/// `Cq::state`: open, and twice the number of users inside `enter`/`exit`.
const OPEN: u32 = 1;
const USER: u32 = 2;

/// The epoll tag of the queue's own eventfd (the kernel sources are tagged with their index).
const TAG_EFD: u64 = u64::MAX;

/// One completion queue (see the module documentation).
pub(crate) struct Cq {
    /// [`OPEN`] plus [`USER`] per user.
    state: AtomicU32,
    /// Bumped each time the object is (re)opened; references carry the one they were made for.
    gen: AtomicU32,
    /// 1 while `ep` and `efd` are open.
    fds_live: AtomicU32,
    /// The program's descriptor (-1 for the aio_waitcomplete queue, which has none).
    user: AtomicI32,
    /// The library's duplicate of the epoll instance.
    ep: AtomicI32,
    /// The library's eventfd inside it.
    efd: AtomicI32,
    /// The aio_waitcomplete queue.
    internal: bool,
    /// The owner number of `ep` and `efd` (`sys::claim`): the mark says a number is some
    /// queue's, this says it is this queue's (after `closefrom`, another queue's new eventfd may
    /// get this one's old number).
    owner: u32,
    /// Next queue object ever made (the registry, append-only).
    next: AtomicPtr<Cq>,
    done: Stack<Node>,
    spare: Stack<Node>,
    ready: Lock<Fifo>,
    pool: Lock<Fifo>,
    /// Serialises registrations of kernel sources, and repairs (`Cq::repair`).
    attach: Lock<()>,
    /// Bit q of [k]: source k (0 the ring, 1 the kernel AIO eventfd) of engine queue q is in `ep`.
    attached: [AtomicU64; 2],
    /// [k][q]: the generation of source k of engine queue q that is in `ep` (0: none). A ring is
    /// never made again (generation 1); a kernel AIO eventfd is, when the program took its number
    /// (`sys::OwnEventFd::generation`), and then the new one must be added.
    registered: [[AtomicU32; MAX_QUEUES]; 2],
    /// Sources that were in an epoll instance the library had to make again (`Cq::repair`), as
    /// `attached`: a harvest adds them to the new one (`engine::cq`, `QueueRef::has_source`).
    reattach: [AtomicU64; 2],
    /// Non-zero when a descriptor of the library's for this queue was found lost (the program
    /// closed it: `closefrom`); the next submission or harvest makes it again.
    wanted: AtomicU32,
    /// Requests of this queue in flight on each engine queue (which ones a harvest reaps).
    inflight: [AtomicU32; MAX_QUEUES],
    /// Requests accepted in this generation and not harvested yet.
    outstanding: AtomicU64,
    /// Harvesters reaping for this queue now (see `Harvest::reaping`).
    harvesting: AtomicU32,
    /// Set after the eventfd is signalled (see `Cq::signal_now`).
    signalled: AtomicU32,
    /// When it was last harvested (`stream`: ms, monotonic, plus one; 0 for none).
    last_harvest: AtomicU64,
    /// 1 once a parked stream request was registered in `ep` (`stream`), in this generation.
    streams: AtomicU32,
}

// SAFETY: every field is atomic or behind a lock; the raw pointers in nodes are addresses only.
unsafe impl Sync for Cq {}
// SAFETY: as Sync.
unsafe impl Send for Cq {}

/// Every queue object ever made; never freed.
static REGISTRY: AtomicPtr<Cq> = AtomicPtr::new(ptr::null_mut());
/// The aio_waitcomplete queue object, once made.
static WAITCOMPLETE: AtomicPtr<Cq> = AtomicPtr::new(ptr::null_mut());
/// Serialises creating and reusing queue objects.
static CREATE: Lock<()> = Lock::new(());

impl Cq {
    fn new(internal: bool) -> &'static Cq {
        let cq: &'static Cq = Box::leak(Box::new(Cq {
            state: AtomicU32::new(0),
            gen: AtomicU32::new(0),
            fds_live: AtomicU32::new(0),
            user: AtomicI32::new(-1),
            ep: AtomicI32::new(-1),
            efd: AtomicI32::new(-1),
            internal,
            owner: sys::new_owner(),
            next: AtomicPtr::new(ptr::null_mut()),
            done: Stack::new(),
            spare: Stack::new(),
            ready: Lock::new(Fifo::new()),
            pool: Lock::new(Fifo::new()),
            attach: Lock::new(()),
            attached: [AtomicU64::new(0), AtomicU64::new(0)],
            registered: [const { [const { AtomicU32::new(0) }; MAX_QUEUES] }; 2],
            reattach: [AtomicU64::new(0), AtomicU64::new(0)],
            wanted: AtomicU32::new(0),
            inflight: [const { AtomicU32::new(0) }; MAX_QUEUES],
            outstanding: AtomicU64::new(0),
            harvesting: AtomicU32::new(0),
            signalled: AtomicU32::new(0),
            last_harvest: AtomicU64::new(0),
            streams: AtomicU32::new(0),
        }));
        let p = cq as *const Cq as *mut Cq;
        let mut head = REGISTRY.load(Acquire);
        loop {
            cq.next.store(head, Relaxed);
            match REGISTRY.compare_exchange_weak(head, p, AcqRel, Acquire) {
                Ok(_) => return cq,
                Err(h) => head = h,
            }
        }
    }

    /// Enters the queue of generation `gen` as a user (its descriptors stay open until `exit`);
    /// false if it is closed or another generation.
    fn enter(&self, gen: u32) -> bool {
        let s = self.state.fetch_add(USER, Acquire);
        if s & OPEN == 0 || self.gen.load(Acquire) != gen {
            self.exit();
            return false;
        }
        true
    }

    fn exit(&self) {
        if self.state.fetch_sub(USER, AcqRel) == USER {
            self.close_fds();
        }
    }

    /// Closes `ep` and `efd` once the queue is closed and nobody uses it (once). From the
    /// `fds_live` change (what a fork child's `after_fork_child` goes by) to the closes, a fork
    /// would leave the child both descriptors unrecorded: one section of the fork gate.
    fn close_fds(&self) {
        if self.state.load(Acquire) != 0 {
            return;
        }
        let _section = sys::fd_section();
        if self.fds_live.swap(0, AcqRel) != 1 {
            return;
        }
        for fd in [self.ep.load(Relaxed), self.efd.load(Relaxed)] {
            // Only if the number is still ours (see sys::mark).
            if self.ours(fd) {
                sys::close_raw(fd);
            }
        }
    }

    /// Closes the queue of generation `gen`; true if this call did (it was open).
    fn shut(&self, gen: u32) -> bool {
        if !self.enter(gen) {
            return false;
        }
        let was = self.state.fetch_and(!OPEN, AcqRel);
        // Wake any harvester asleep on it; it sees the queue closed and leaves.
        self.signal_now();
        self.exit();
        was & OPEN != 0
    }

    /// Whether the program's number still names this queue (one system call); the
    /// aio_waitcomplete queue has no such number, only its own tagged descriptor.
    ///
    /// The program's number names the queue while it is an open file the library tagged
    /// (`sys::marked`): a number the program closed and reused for a file of its own is not tagged,
    /// and a number reused for another queue belongs to that queue, because [`create`] closes
    /// the queues whose numbers no longer name them before it makes a new one (and [`lookup`]
    /// closes any it meets). One `fcntl`.
    fn still_named(&self) -> bool {
        // The aio_waitcomplete queue's descriptors are all the library's, made again when lost.
        self.internal || sys::marked(self.user.load(Relaxed))
    }

    /// Makes the eventfd readable (if it is still ours). The caller is a user.
    ///
    /// The write comes before `signalled` is set, and a harvest clears `signalled` before it
    /// drains: so whenever the eventfd is readable, a store of 1 that the next harvest sees is
    /// still to come or already there, and that harvest drains it (a stale 1 only costs a drain
    /// that finds nothing).
    fn signal_now(&self) {
        let efd = self.efd.load(Relaxed);
        if self.ours(efd) {
            sys::efd_signal(efd);
            self.signalled.store(1, Release);
        } else {
            // Lost (closefrom): the next submission or harvest makes a new one and signals it.
            self.wanted.store(1, Release);
        }
    }
}

impl Cq {
    /// Adds source `kind` of engine queue `queue`, descriptor `fd`, to `ep`, edge-triggered (an
    /// already registered one is fine). The caller is a user and holds `attach`.
    fn register(&self, queue: usize, kind: usize, fd: c_int) -> bool {
        let ep = self.ep.load(Relaxed);
        let tag = (queue % MAX_QUEUES * 2 + (kind & 1)) as u64;
        let events = (libc::EPOLLIN | libc::EPOLLET) as u32;
        self.ours(ep) && matches!(sys::epoll_add(ep, fd, events, tag), Ok(()) | Err(Errno(libc::EEXIST)))
    }
}

/// A reference to an open queue of one generation (what a request's sigevent names).
#[derive(Clone, Copy)]
pub(crate) struct QueueRef {
    cq: &'static Cq,
    gen: u32,
}

impl core::fmt::Debug for QueueRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "QueueRef({}, gen {})", self.cq.user.load(Relaxed), self.gen)
    }
}

impl QueueRef {
    /// An entry for `aiocb`, a request about to be accepted on engine queue `queue`: stored in
    /// the aiocb's job slot, handed to [`complete`] once the request's status is published.
    /// Not async-signal-safe (may allocate).
    pub(crate) fn reserve(&self, aiocb: *mut Aiocb, queue: usize) -> Result<*mut Node, Errno> {
        if !self.cq.enter(self.gen) {
            return Err(Errno::EBADF);
        }
        if self.cq.wanted.load(Acquire) != 0 {
            // Best effort: a queue that cannot have its eventfd now still takes requests (their
            // status is in the aiocb; a harvest finds them), and the next call tries again.
            self.cq.repair(true);
        }
        let n = self.cq.alloc();
        // SAFETY: a fresh node from our pool, in no list, ours until it is handed back.
        unsafe {
            (*n).cq = self.cq;
            (*n).gen = self.gen;
            (*n).queue = queue as u32;
            (*n).aiocb = aiocb;
            (*n).res = 0;
        }
        self.cq.inflight[queue % MAX_QUEUES].fetch_add(1, AcqRel);
        self.cq.outstanding.fetch_add(1, AcqRel);
        self.cq.exit();
        Ok(n)
    }

    /// Puts kernel completion source `kind` (0 an io_uring ring, 1 a kernel AIO eventfd) of
    /// engine queue `queue`, generation `gen` (non-zero: 1 for a ring, which is never made again;
    /// `sys::OwnEventFd::generation` for a kernel AIO eventfd, read before `fd`), into the queue's
    /// epoll set, edge-triggered, once per generation: an eventfd made again after the program
    /// closed the old one (which left the epoll set with its file) is added in its turn. Its
    /// descriptor, asked only then, is `fd()`, checked to be the engine's own (None if it is not).
    /// False if that cannot be done (then someone else must reap those completions and signal).
    /// One load when the source is in already.
    pub(crate) fn attach(&self, queue: usize, kind: usize, gen: u32, fd: impl FnOnce() -> Option<c_int>) -> bool {
        let queue = queue % MAX_QUEUES;
        let slot = &self.cq.registered[kind & 1][queue];
        if gen != 0 && slot.load(Acquire) == gen {
            return true;
        }
        self.attach_slow(queue, kind, gen, fd)
    }

    #[cold]
    #[inline(never)]
    fn attach_slow(&self, queue: usize, kind: usize, gen: u32, fd: impl FnOnce() -> Option<c_int>) -> bool {
        let slot = &self.cq.registered[kind & 1][queue];
        if gen == 0 {
            return false;
        }
        let _g = self.cq.attach.lock();
        let old = slot.load(Acquire);
        if old == gen {
            return true;
        }
        if !self.cq.enter(self.gen) {
            return false;
        }
        let ok = fd().is_some_and(|fd| self.cq.register(queue, kind, fd));
        if ok {
            slot.store(gen, Release);
            self.cq.attached[kind & 1].fetch_or(1 << queue, AcqRel);
            self.cq.reattach[kind & 1].fetch_and(!(1 << queue), AcqRel);
            if old != 0 {
                // Requests in flight when the old source was lost may have announced their
                // completion there: a harvest looks.
                self.cq.signal_now();
            }
        }
        self.cq.exit();
        ok
    }

    /// Whether source `kind` of engine queue `queue` was put in the queue's epoll set (or was in
    /// one the library had to make again).
    pub(crate) fn has_source(&self, queue: usize, kind: usize) -> bool {
        let bit = 1u64 << (queue % MAX_QUEUES);
        (self.cq.attached[kind & 1].load(Acquire) | self.cq.reattach[kind & 1].load(Acquire)) & bit != 0
    }

    /// Requests accepted and not yet harvested.
    pub(crate) fn outstanding(&self) -> u64 {
        if self.cq.gen.load(Acquire) != self.gen {
            return 0;
        }
        self.cq.outstanding.load(Acquire)
    }

    /// Starts a harvest: the queue stays open for the harvester until the returned value is
    /// dropped. None if it is closed.
    pub(crate) fn harvest(&self) -> Option<Harvest> {
        let entered = self.cq.enter(self.gen);
        entered.then(|| self.cq.note_harvest());
        entered.then_some(Harvest { q: *self })
    }
}

/// Gives back an entry reserved for a request that was then refused (it never ran, and its
/// queue never hears of it). Async-signal-safe: atomics and the lock-free stack only.
///
/// # Safety
/// `node` was made by [`QueueRef::reserve`] and is given back once, instead of [`complete`].
pub(crate) unsafe fn unreserve(node: *mut Node) {
    // SAFETY: reserved and not handed to the queue (caller): ours.
    let (cq, gen, queue) = unsafe { (&*(*node).cq, (*node).gen, (*node).queue as usize) };
    cq.inflight[queue % MAX_QUEUES].fetch_sub(1, AcqRel);
    // As a user the generation cannot change under us (a queue is reopened only unused).
    if cq.enter(gen) {
        cq.outstanding.fetch_sub(1, AcqRel);
        cq.exit();
    }
    // SAFETY: ours, live, in no list.
    unsafe { cq.spare.push(node) };
}

/// The queue objects ever made.
fn registry() -> impl Iterator<Item = &'static Cq> {
    let mut p = REGISTRY.load(Acquire);
    core::iter::from_fn(move || {
        // SAFETY: registry objects are leaked: live for the process.
        let cq = unsafe { p.as_ref() }?;
        p = cq.next.load(Acquire);
        Some(cq)
    })
}

/// Closes the queues whose program descriptor was closed (plain `close`, `closefrom`).
fn sweep() {
    for cq in registry().filter(|c| !c.internal) {
        let gen = cq.gen.load(Acquire);
        if cq.enter(gen) {
            let named = cq.still_named();
            cq.exit();
            if !named {
                cq.shut(gen);
            }
        }
    }
}

/// `aio_rs_cq_create`: a new queue; its descriptor.
pub(crate) fn create() -> Result<c_int, Errno> {
    let _g = CREATE.lock();
    // A queue the program closed with close() may have left its number to the new one.
    sweep();
    // The object first (it may be allocated), outside the descriptors' section; one made here
    // and then not opened (no descriptor free) stays reusable.
    let cq = registry().find(|c| c.reusable()).unwrap_or_else(|| Cq::new(false));
    Ok(cq.open()?.cq.user.load(Relaxed))
}

/// The open queue whose descriptor is `fd` (`AIO_RS_WAITCOMPLETE_QUEUE`: the aio_waitcomplete
/// queue, opened on first use), or EBADF.
pub(crate) fn lookup(fd: c_int) -> Result<QueueRef, Errno> {
    if fd == AIO_RS_WAITCOMPLETE_QUEUE {
        // Opened by the first request that asks for it: no descriptor or memory for it is a
        // shortage of resources, which a submission reports as EAGAIN.
        return waitcomplete_queue(true).map_err(|e| match e {
            Errno::EBADF | Errno::EINVAL => e,
            _ => Errno::EAGAIN,
        });
    }
    for cq in registry().filter(|c| !c.internal && c.user.load(Relaxed) == fd) {
        let gen = cq.gen.load(Acquire);
        if !cq.enter(gen) {
            continue;
        }
        let named = cq.still_named();
        cq.exit();
        if named {
            return Ok(QueueRef { cq, gen });
        }
        cq.shut(gen);
    }
    Err(Errno::EBADF)
}

/// The open queue named `fd` for a harvest: as [`lookup`], but the aio_waitcomplete queue is not
/// opened by this.
pub(crate) fn lookup_open(fd: c_int) -> Result<QueueRef, Errno> {
    if fd == AIO_RS_WAITCOMPLETE_QUEUE {
        return waitcomplete_queue(false).map_err(|_| Errno::EBADF);
    }
    lookup(fd)
}

/// `aio_rs_cq_close`: closes queue `fd` and its descriptor.
pub(crate) fn close(fd: c_int) -> Result<(), Errno> {
    let q = lookup(fd).map_err(|_| Errno::EBADF)?;
    if q.cq.internal || !q.cq.shut(q.gen) {
        return Err(Errno::EBADF);
    }
    // The number was checked just now, and only the call that closed the queue gets here. No
    // fork-gate section: the number is the program's (a fork child keeps the program's queue
    // numbers, `after_fork_child`), so a fork before or after this close is the program's own
    // `close` racing its `fork`.
    sys::close_raw(fd);
    Ok(())
}

/// The aio_waitcomplete queue; opened now if `open` (else EAGAIN when it is not open).
pub(crate) fn waitcomplete_queue(open: bool) -> Result<QueueRef, Errno> {
    let p = WAITCOMPLETE.load(Acquire);
    // SAFETY: the object, once made, is leaked: live for the process.
    if let Some(cq) = unsafe { p.as_ref() } {
        let gen = cq.gen.load(Acquire);
        if cq.state.load(Acquire) & OPEN != 0 {
            return Ok(QueueRef { cq, gen });
        }
    }
    if !open {
        return Err(Errno::EAGAIN);
    }
    let _g = CREATE.lock();
    // SAFETY: as above.
    let cq = match unsafe { WAITCOMPLETE.load(Acquire).as_ref() } {
        Some(cq) if cq.state.load(Acquire) & OPEN != 0 => return Ok(QueueRef { cq, gen: cq.gen.load(Acquire) }),
        Some(cq) if cq.state.load(Acquire) == 0 && cq.fds_live.load(Acquire) == 0 => cq,
        Some(_) => return Err(Errno::EAGAIN),
        None => {
            let cq = Cq::new(true);
            WAITCOMPLETE.store(cq as *const Cq as *mut Cq, Release);
            cq
        }
    };
    cq.open()
}

/// A forked child: the parent's queues are not the child's (like kqueues, they are not
/// inherited); their requests do not exist here. Closes the library's own descriptors of them
/// (after checking they are), leaves the program's, and forgets the objects. Called single
/// threaded, from the fork child handler.
pub(crate) fn after_fork_child() {
    for cq in registry() {
        if cq.fds_live.load(Acquire) == 1 {
            for fd in [cq.ep.load(Relaxed), cq.efd.load(Relaxed)] {
                if cq.ours(fd) {
                    sys::close_raw(fd);
                }
            }
        }
    }
    REGISTRY.store(ptr::null_mut(), Release);
    WAITCOMPLETE.store(ptr::null_mut(), Release);
    // SAFETY: the child has one thread, this one; a holder of CREATE at the fork was a parent
    // thread that does not exist here, so no guard of it can ever be used in this process, and a
    // released lock is exactly the state a fresh one has.
    unsafe { CREATE.force_unlock() };
}
