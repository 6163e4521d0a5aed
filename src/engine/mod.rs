//! The engine: per-CPU queues, routing, submission, completion and waiting.
//!
//! See `docs/ARCHITECTURE.md` for the request flow. In short: `accept` takes the calling
//! thread's home queue (one queue per CPU, handed to threads in turn), classifies the fd,
//! chooses a route (kernel AIO for O_DIRECT, io_uring, or workers), and issues the request from
//! the calling thread (no hand-off). Completions are reaped by whoever needs them first: a
//! thread in `aio_suspend`/`aio_error`/`lio_listio(LIO_WAIT)` reaps its own queue directly; the
//! queue's helper thread reaps only while some completion must be acted on without anyone
//! waiting (a notification, a barrier, a request parked on an fd, a waiter on another queue).

pub mod cb;
pub mod fd;
pub mod kaio;
pub mod threads;
pub mod uring;

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use core::time::Duration;

use once_cell::sync::OnceCell;

use self::cb::{meta, phase, Cb, List, Op, Route, Stack};
use self::fd::{kind, FdEntry, FdTable, KickStack};
use crate::abi::Aiocb;
use crate::errno::Errno;
use crate::notify::{self, Notify, ThreadJob};
use crate::sys::{self, EventCount, EventFd, Lock, ThreadAttr};

/// Which engines a process may use (`AIO_RS_BACKEND`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Auto,
    Uring,
    Kaio,
    Threads,
}

/// Tunables settable by `aio_init` before the engine starts.
pub static CONF_WORKERS: AtomicU32 = AtomicU32::new(0);

/// Per-queue counters (relaxed; reported by `AIO_RS_STATS`).
#[derive(Default)]
pub struct Stats {
    pub submitted: AtomicU64,
    pub completed: AtomicU64,
    pub cancelled: AtomicU64,
    pub fallbacks: AtomicU64,
    pub inflight: AtomicU64,
    pub peak: AtomicU64,
}

pub struct Queue {
    pub idx: usize,
    pub ring: Option<uring::Ring>,
    /// Kernel AIO context: started with the queue when `AIO_RS_BACKEND=kaio`, otherwise on the
    /// first O_DIRECT request (so a process that never uses O_DIRECT takes none of the
    /// system-wide `fs.aio-max-nr` budget). `None` inside: it could not be created.
    kaio: OnceCell<Option<kaio::Ctx>>,
    /// Requests in the kernel AIO context (an `io_getevents` is worth a system call only then).
    kaio_inflight: AtomicU32,
    /// Why this queue has the engines it has (for AIO_RS_VERBOSE).
    pub why: String,
    /// Serialises consumption of the ring's completion queue. Waiting for completions needs no
    /// lock (several threads may sleep on the ring); only taking them does.
    ring_reap: Lock<()>,
    /// Serialises `io_getevents` on the kernel AIO context (which consumes as it waits).
    kaio_reap: Lock<()>,
    /// Serialises the io_uring submission queue.
    pub sq: Lock<()>,
    pub pool: threads::Pool,
    /// Requests in flight on this queue whose completion someone must act on promptly, plus
    /// waiters on this queue that cannot reap it themselves. Non-zero: the helper watches.
    pub watch: AtomicU32,
    /// Eventfd the helper sleeps on.
    wake_fd: EventFd,
    /// Eventfd kernel AIO completions are counted on.
    kaio_fd: EventFd,
    /// Requests waiting for the helper to issue them (a non-blocking context could not).
    deferred: Stack,
    /// Fds whose lists the helper must re-evaluate.
    kicks: KickStack,
    /// Set when the helper should start a worker for this queue.
    grow_wanted: AtomicU32,
    /// Set by the helper when it found the reap lock busy (see `release_reap`).
    helper_waits: AtomicU32,
    /// Set when submissions wait in the ring for an `io_uring_enter` that the kernel refused.
    sq_dirty: AtomicU32,
    pub stats: Stats,
}

pub struct Engine {
    pub epoch: u64,
    pub mode: Mode,
    queues: Box<[OnceCell<Queue>]>,
    pub fds: FdTable,
    /// Bumped after every completion; waiters sleep on it.
    pub done: EventCount,
    /// Number of fsync barriers waiting for earlier requests: while non-zero every helper watches.
    force_watch: AtomicU32,
    /// The home queue of the next thread that asks (see `local_queue`).
    next_home: AtomicU32,
    /// lio groups released where `free` was not allowed, for a helper to free.
    free_groups: AtomicPtr<Group>,
    workers_per_queue: u32,
    kaio_slots: u32,
    ring_entries: u32,
    pub verbose: bool,
    /// Counters are kept only when `AIO_RS_STATS` asks for them (they are atomic RMWs per request).
    pub stats_on: bool,
}

static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(ptr::null_mut());
static INIT: Lock<()> = Lock::new(());
/// Generation of the engine; a forked child starts a new one, so tags written by the parent's
/// engine never look in flight to the child's.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// The engine if it was started (async-signal-safe; never starts it).
pub fn get() -> Option<&'static Engine> {
    let p = ENGINE.load(Acquire);
    // SAFETY: once published, an engine is never freed (a forked child leaks its parent's).
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The engine, started on first use: this is the first moment aio-rs allocates or starts anything.
pub fn engine() -> Result<&'static Engine, Errno> {
    if let Some(e) = get() {
        return Ok(e);
    }
    let _g = INIT.lock();
    if let Some(e) = get() {
        return Ok(e);
    }
    let e = Box::leak(Box::new(Engine::new()));
    register_fork_handlers();
    ENGINE.store(e, Release);
    if e.verbose {
        eprintln!("aio-rs {}: active, backend mode {:?}, {} queues", env!("CARGO_PKG_VERSION"), e.mode, e.queues.len());
    }
    crate::stats::register_at_exit();
    Ok(e)
}

/// A numeric tuning variable (`AIO_RS_RING_ENTRIES`, `AIO_RS_KAIO_SLOTS`: used by the tests to
/// make the kernel's limits small enough to hit).
fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

impl Engine {
    fn new() -> Engine {
        let mode = match std::env::var("AIO_RS_BACKEND").as_deref() {
            Ok("uring") => Mode::Uring,
            Ok("kaio") => Mode::Kaio,
            Ok("threads") => Mode::Threads,
            _ => Mode::Auto,
        };
        let cpus = sys::cpus_configured().min(64);
        let conf = CONF_WORKERS.load(Relaxed);
        let workers_per_queue = if conf > 0 { conf.div_ceil(cpus as u32).max(2) } else { 16 };
        Engine {
            epoch: EPOCH.load(Relaxed),
            mode,
            queues: (0..cpus).map(|_| OnceCell::new()).collect(),
            fds: FdTable::new(),
            done: EventCount::new(),
            force_watch: AtomicU32::new(0),
            next_home: AtomicU32::new(0),
            free_groups: AtomicPtr::new(ptr::null_mut()),
            workers_per_queue,
            kaio_slots: env_u32("AIO_RS_KAIO_SLOTS").unwrap_or_else(|| kaio_budget(cpus)).max(1),
            ring_entries: env_u32("AIO_RS_RING_ENTRIES").unwrap_or(256).clamp(1, 4096),
            verbose: env_flag("AIO_RS_VERBOSE"),
            stats_on: env_flag("AIO_RS_STATS"),
        }
    }

    pub fn nqueues(&self) -> usize {
        self.queues.len()
    }

    /// An already-started queue (async-signal-safe).
    pub fn queue(&self, i: usize) -> &Queue {
        self.queues[i].get().expect("queue used before it was started")
    }

    pub fn queue_if_started(&self, i: usize) -> Option<&Queue> {
        self.queues.get(i).and_then(|c| c.get())
    }

    /// The calling thread's home queue, started on first use.
    ///
    /// There is one queue per CPU, and each thread is given one of them, in turn, at its first
    /// request in this engine. Keeping a thread on one queue means everything it waits for is
    /// in one ring (or one AIO context), so it can sleep there and reap its own completions;
    /// choosing by the current CPU instead spread a migrating thread's requests over several
    /// queues, and two threads started on one CPU shared one (the benchmark showed two threads
    /// at half the speed of one).
    pub fn local_queue(&'static self) -> Result<&'static Queue, Errno> {
        thread_local! {
            /// (engine epoch << 16) | (queue index + 1); 0: none yet.
            static HOME: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
        }
        let home = HOME.with(|h| h.get());
        let i = if home >> 16 == self.epoch && home != 0 {
            (home & 0xffff) as usize - 1
        } else {
            let i = self.next_home.fetch_add(1, Relaxed) as usize % self.queues.len();
            HOME.with(|h| h.set(self.epoch << 16 | (i as u64 + 1)));
            i
        };
        self.queues[i].get_or_try_init(|| Queue::start(self, i)).inspect(|q| q.ensure_helper(self))
    }

    pub fn force_watch_inc(&self) {
        if self.force_watch.fetch_add(1, SeqCst) == 0 {
            self.wake_all_helpers();
        }
    }

    pub fn force_watch_dec(&self) {
        self.force_watch.fetch_sub(1, SeqCst);
    }

    fn wake_all_helpers(&self) {
        for q in self.queues.iter().filter_map(|c| c.get()) {
            q.wake();
        }
    }

    /// Hands an fd's re-evaluation to queue `q`'s helper (async-signal-safe).
    pub fn defer_kick(&self, q: usize, fe: &FdEntry) {
        let q = self.queue(q);
        if q.kicks.push(fe) {
            q.wake();
        }
    }
}

/// Kernel AIO slots per queue: a fair share of what `fs.aio-max-nr` leaves, so that even a
/// 256-CPU machine does not exhaust the system-wide budget (other programs need some too).
fn kaio_budget(queues: usize) -> u32 {
    let read = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    let max = read("/proc/sys/fs/aio-max-nr").unwrap_or(65536);
    let used = read("/proc/sys/fs/aio-nr").unwrap_or(0);
    let share = max.saturating_sub(used) / 4 / queues as u64;
    share.clamp(16, 1024) as u32
}

impl Queue {
    fn start(eng: &'static Engine, idx: usize) -> Result<Queue, Errno> {
        let mut why = Vec::new();
        let ring = match eng.mode {
            Mode::Auto | Mode::Uring => match uring::Ring::new(eng.ring_entries) {
                Ok(r) => Some(r),
                Err(e) => {
                    why.push(format!("io_uring unavailable ({})", errno_name(e)));
                    None
                }
            },
            _ => None,
        };
        let kaio = OnceCell::new();
        if eng.mode == Mode::Kaio {
            let c = kaio::Ctx::new(eng.kaio_slots)
                .map_err(|e| why.push(format!("kernel AIO unavailable ({})", errno_name(e))));
            let _ = kaio.set(c.ok());
        }
        let kaio_now = kaio.get().is_some_and(|c: &Option<kaio::Ctx>| c.is_some());
        let engines = match (eng.mode, &ring, kaio_now) {
            (Mode::Auto, Some(_), _) => "kernel AIO for O_DIRECT files (started at first use), io_uring for the rest",
            (_, Some(_), _) => "io_uring for every descriptor",
            (Mode::Auto, None, _) => {
                "kernel AIO for O_DIRECT files (started at first use), worker threads for the rest"
            }
            (_, None, true) => "kernel AIO for O_DIRECT files, worker threads for the rest",
            _ => "worker threads for every descriptor",
        };
        why.insert(0, engines.to_string());
        let wake_fd = EventFd::new()?;
        let kaio_fd = EventFd::new()?;
        let q = Queue {
            idx,
            ring,
            kaio,
            kaio_inflight: AtomicU32::new(0),
            why: why.join("; "),
            ring_reap: Lock::new(()),
            kaio_reap: Lock::new(()),
            sq: Lock::new(()),
            pool: threads::Pool::new(eng.workers_per_queue),
            watch: AtomicU32::new(0),
            wake_fd,
            kaio_fd,
            deferred: Stack::new(),
            kicks: KickStack::new(),
            grow_wanted: AtomicU32::new(0),
            helper_waits: AtomicU32::new(0),
            sq_dirty: AtomicU32::new(0),
            stats: Stats::default(),
        };
        if eng.verbose {
            eprintln!("aio-rs: queue {idx}: {}", q.why);
        }
        Ok(q)
    }

    /// Starts the helper thread once (the first submission on the queue, never in a signal
    /// handler): a helper must already run when a non-blocking context needs one.
    fn ensure_helper(&'static self, eng: &'static Engine) {
        static STARTED: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];
        let flag = &STARTED[self.idx];
        if flag.load(Acquire) == eng.epoch as u32 {
            return;
        }
        let _g = INIT.lock();
        if flag.load(Acquire) != eng.epoch as u32 {
            let name = format!("aio-rs-h{}", self.idx);
            let idx = self.idx;
            if sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || helper_main(eng, idx)).is_ok() {
                flag.store(eng.epoch as u32, Release);
            }
        }
    }

    /// Wakes the helper (async-signal-safe: one write to an eventfd).
    pub fn wake(&self) {
        self.wake_fd.signal();
    }

    /// Asks the helper for another worker if work is queued and no worker is idle
    /// (async-signal-safe: an atomic store and an eventfd write).
    pub fn want_worker_if_needed(&self) {
        if self.pool.wants_worker() && self.grow_wanted.swap(1, AcqRel) == 0 {
            self.wake();
        }
    }

    pub fn watch_inc(&self) {
        if self.watch.fetch_add(1, SeqCst) == 0 {
            self.wake();
        }
    }

    pub fn watch_dec(&self) {
        self.watch.fetch_sub(1, SeqCst);
    }

    fn watching(&self, eng: &Engine) -> bool {
        self.watch.load(SeqCst) != 0 || eng.force_watch.load(SeqCst) != 0
    }

    /// The kernel AIO context, if started (async-signal-safe).
    pub fn kaio(&self) -> Option<&kaio::Ctx> {
        self.kaio.get().and_then(|c| c.as_ref())
    }

    /// The kernel AIO context, started on first use (submission path only).
    fn kaio_start(&self, eng: &Engine) -> Option<&kaio::Ctx> {
        self.kaio
            .get_or_init(|| match kaio::Ctx::new(eng.kaio_slots) {
                Ok(c) => Some(c),
                Err(e) => {
                    if eng.verbose {
                        eprintln!(
                            "aio-rs: queue {}: kernel AIO unavailable ({}); O_DIRECT goes elsewhere",
                            self.idx,
                            errno_name(e)
                        );
                    }
                    None
                }
            })
            .as_ref()
    }

    fn present(&self, k: Kernel) -> bool {
        match k {
            Kernel::Ring => self.ring.is_some(),
            Kernel::Kaio => self.kaio().is_some(),
        }
    }

    fn reap_lock(&self, k: Kernel) -> &Lock<()> {
        match k {
            Kernel::Ring => &self.ring_reap,
            Kernel::Kaio => &self.kaio_reap,
        }
    }

    /// Reaps whatever completions are ready, from each kernel source the queue has. `blocking`
    /// decides whether to wait for the reap locks. Returns false if a lock was busy.
    /// Async-signal-safe when `blocking` is false.
    pub fn reap(&self, eng: &Engine, blocking: bool) -> bool {
        let mut all = true;
        for k in [Kernel::Ring, Kernel::Kaio] {
            if !self.present(k) {
                continue;
            }
            let l = self.reap_lock(k);
            match if blocking { Some(l.lock()) } else { l.try_lock() } {
                Some(g) => {
                    let _ = self.reap_source(eng, k, blocking, None);
                    self.release_reap(g);
                }
                None => all = false,
            }
        }
        all
    }

    /// Releases a reap lock. If the helper found one busy meanwhile (and so did not watch that
    /// source), wakes it, so that completions arriving after our reap are not left unreaped.
    ///
    /// No wake-up is lost: the helper stores `helper_waits` and then tries the lock; we release
    /// the lock and then swap `helper_waits`, with a full fence on both sides between the two
    /// steps. Either the helper's try sees the lock free, or our swap sees its flag.
    fn release_reap(&self, g: crate::sys::Guard<'_, ()>) {
        drop(g);
        core::sync::atomic::fence(SeqCst);
        if self.helper_waits.load(SeqCst) != 0 && self.helper_waits.swap(0, SeqCst) != 0 {
            self.wake();
        }
    }

    /// The helper's attempt at a reap lock (see `release_reap`).
    fn helper_try_reap(&self, k: Kernel) -> Option<crate::sys::Guard<'_, ()>> {
        let l = self.reap_lock(k);
        if let Some(g) = l.try_lock() {
            return Some(g);
        }
        self.helper_waits.store(1, SeqCst);
        core::sync::atomic::fence(SeqCst);
        let g = l.try_lock()?;
        self.helper_waits.store(0, SeqCst);
        Some(g)
    }

    /// Reaps source `k` with its reap lock held. For kernel AIO, `wait` first blocks in
    /// `io_getevents` for at least one completion (or the timeout, or a signal).
    fn reap_source(
        &self,
        eng: &Engine,
        k: Kernel,
        blocking: bool,
        wait: Option<Option<Duration>>,
    ) -> Result<(), Errno> {
        match k {
            Kernel::Ring => {
                if let Some(r) = &self.ring {
                    // SAFETY: the ring's reap lock is held by the caller.
                    unsafe { r.reap(|ud, res| self.handle(eng, blocking, ud, res as isize)) };
                }
            }
            Kernel::Kaio => {
                if let Some(c) = self.kaio() {
                    let (min, t) = match wait {
                        Some(t) => (1, t),
                        None => (0, None),
                    };
                    // Without a wait, ask the kernel only if its ring shows completions: aio_error
                    // polling then costs no system call while nothing is ready.
                    if min > 0 || (self.kaio_inflight.load(Acquire) != 0 && c.has_events()) {
                        let r = c.reap(min, t, |cb, res| {
                            self.kaio_inflight.fetch_sub(1, AcqRel);
                            self.handle(eng, blocking, cb.0 as u64, res)
                        });
                        if min > 0 {
                            r?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Acts on one completion taken from a kernel source.
    fn handle(&self, eng: &Engine, blocking: bool, ud: u64, res: isize) {
        if ud & uring::TAG_INTERNAL != 0 {
            let slot = (ud & !uring::TAG_INTERNAL) as *const uring::CancelSlot;
            // SAFETY: the canceller keeps its slot alive until `done` is set.
            unsafe {
                (*slot).res.store(res as i32, Relaxed);
                (*slot).done.store(1, Release);
            }
            eng.done.notify_all();
        } else if ud != 0 {
            let cb = Cb(ud as *mut Aiocb);
            // SAFETY: user_data of a request is its aiocb, live until we finish it.
            unsafe {
                let m = cb.meta().load(Relaxed);
                let on_ring = Route::from_bits(m) == Route::Uring;
                let mut res = res;
                if on_ring && m & meta::STREAM != 0 && Op::from_bits(m) == Op::Write {
                    // write(2) on a blocking pipe or socket writes everything; io_uring stops
                    // at what fits. Continue from where it stopped until all is written.
                    let done = cb.progress().load(Relaxed) as isize;
                    let total = (*cb.0).aio_nbytes.min(uring::MAX_RW) as isize;
                    if res > 0 && done + res < total {
                        cb.progress().store((done + res) as u64, Relaxed);
                        let mut b = Batch::new(eng, blocking);
                        b.push(cb);
                        b.flush();
                        return;
                    }
                    if res >= 0 || done > 0 {
                        res = done + res.max(0);
                    }
                }
                if res == -(libc::ESPIPE as isize) && on_ring && m & meta::STREAM == 0 {
                    // A lone request used a stale class: the fd is now a socket. It was not
                    // touched; re-issue it as a stream from the helper.
                    if let Some(fe) = eng.fds.get(cb.fd()) {
                        fe.invalidate();
                    }
                    cb.meta().fetch_or(meta::STREAM, Relaxed);
                    cb.state().store(phase::DEFERRED, Release);
                    self.deferred.push(cb);
                    self.wake();
                    return;
                }
                if res == -(libc::ECANCELED as isize) && on_ring && !cancel_was_asked(eng, cb) {
                    // io_uring cancels a task's pending requests when the thread that
                    // submitted them exits. They never touched the fd, so issue them again
                    // from this queue's helper, which lives as long as the process.
                    cb.state().store(phase::DEFERRED, Release);
                    self.deferred.push(cb);
                    self.wake();
                    return;
                }
                finish(eng, cb, res, blocking)
            };
        }
    }
}

/// Whether an ECANCELED completion answers an `aio_cancel` (rather than a thread's exit).
///
/// # Safety
/// `cb` is live.
unsafe fn cancel_was_asked(eng: &Engine, cb: Cb) -> bool {
    // SAFETY: forwarded.
    unsafe {
        cb.state().load(Acquire) & phase::CANCEL_REQ != 0
            || eng.fds.get(cb.fd()).is_some_and(|fe| fe.cancelling.load(Acquire) != 0)
    }
}

/// Human name of an errno for messages.
fn errno_name(e: Errno) -> String {
    sys::strerror(e)
}

/// The helper thread of a queue: issues deferred requests, re-evaluates kicked fds, starts
/// workers, and reaps the kernel queue while someone must be told of completions.
fn helper_main(eng: &'static Engine, qi: usize) {
    let q = eng.queue(qi);
    loop {
        let mut list = q.deferred.take_all();
        if !list.is_empty() {
            let mut b = Batch::new(eng, true);
            while let Some(cb) = list.pop_front() {
                // SAFETY: deferred requests are live and owned by the helper now.
                unsafe { b.push(cb) };
            }
            b.flush();
        }
        q.kicks.take_all(|fe| fd::kick(eng, qi, fe, true));
        Group::free_released(eng);
        if q.sq_dirty.swap(0, AcqRel) != 0 {
            if let Some(r) = &q.ring {
                // Completions may be what the kernel waits for: reap first, then retry.
                q.reap(eng, true);
                let _g = q.sq.lock();
                if !r.flush() {
                    q.sq_dirty.store(1, Release);
                }
            }
        }
        if q.grow_wanted.swap(0, AcqRel) != 0 {
            q.pool.grow(eng, qi);
        }
        // Watch each kernel source whose reap lock we get; if a waiter holds one, it wakes us
        // when it lets go (`release_reap`).
        let mut poll = [false; 2];
        if q.watching(eng) {
            for (i, k) in [Kernel::Ring, Kernel::Kaio].into_iter().enumerate() {
                if q.present(k) {
                    if let Some(g) = q.helper_try_reap(k) {
                        let _ = q.reap_source(eng, k, true, None);
                        drop(g);
                        poll[i] = true;
                    }
                }
            }
        }
        if !q.deferred.is_empty() || !q.kicks.is_empty() {
            continue;
        }
        let timeout = if q.sq_dirty.load(Acquire) != 0 { 1 } else { -1 };
        let ring_fd = q.ring.as_ref().map_or(-1, |r| r.fd());
        let kaio_fd = if q.kaio().is_some() { q.kaio_fd.raw() } else { -1 };
        let mut pfd = [
            libc::pollfd { fd: q.wake_fd.raw(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if poll[0] { ring_fd } else { -1 }, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if poll[1] { kaio_fd } else { -1 }, events: libc::POLLIN, revents: 0 },
        ];
        sys::poll(&mut pfd, timeout);
        q.wake_fd.drain();
        if q.kaio().is_some() {
            q.kaio_fd.drain();
        }
    }
}

/// Requests gathered for issue, flushed with one system call per (queue, engine) run.
pub struct Batch<'e> {
    eng: &'e Engine,
    blocking: bool,
    list: List,
}

impl<'e> Batch<'e> {
    pub fn new(eng: &'e Engine, blocking: bool) -> Self {
        Batch { eng, blocking, list: List::new() }
    }

    ///
    /// # Safety
    /// `cb` is live, accepted, and in no list.
    pub unsafe fn push(&mut self, cb: Cb) {
        // SAFETY: forwarded.
        unsafe {
            cb.state().store(phase::ISSUED, Release);
            self.list.push_back(cb);
        }
    }

    pub fn flush(&mut self) {
        // Uninitialised on purpose (zeroing it cost more than the rest of the submit path);
        // only the first `n` slots are read.
        let mut run = [core::mem::MaybeUninit::<Cb>::uninit(); 64];
        while let Some(first) = self.list.pop_front() {
            // SAFETY: members of the batch are live.
            let m = unsafe { first.meta().load(Relaxed) };
            let (qi, route) = ((m & meta::QUEUE_MASK) as usize, Route::from_bits(m));
            run[0].write(first);
            let mut n = 1;
            while n < run.len() {
                match self.list.front() {
                    // SAFETY: as above.
                    Some(cb)
                        if unsafe { cb.meta().load(Relaxed) } & (meta::QUEUE_MASK | meta::ROUTE_MASK)
                            == m & (meta::QUEUE_MASK | meta::ROUTE_MASK) =>
                    {
                        self.list.pop_front();
                        run[n].write(cb);
                        n += 1;
                    }
                    _ => break,
                }
            }
            // SAFETY: the first n slots were written above; MaybeUninit<Cb> has Cb's layout.
            let cbs = unsafe { core::slice::from_raw_parts(run.as_ptr() as *const Cb, n) };
            self.issue(self.eng.queue(qi), route, cbs);
        }
    }

    fn issue(&self, q: &Queue, route: Route, cbs: &[Cb]) {
        let taken = match route {
            Route::Uring => {
                let g = if self.blocking { Some(q.sq.lock()) } else { q.sq.try_lock() };
                match (g, &q.ring) {
                    (Some(_g), Some(r)) => {
                        // SAFETY: sq lock held; the cbs are live and accepted.
                        let (put, stuck) = unsafe { r.submit(cbs) };
                        if stuck {
                            q.sq_dirty.store(1, Release);
                            q.wake();
                        }
                        put
                    }
                    _ => 0,
                }
            }
            Route::Kaio => q.kaio().map_or(0, |k| {
                q.kaio_inflight.fetch_add(cbs.len() as u32, AcqRel);
                // SAFETY: the cbs are live and accepted.
                let n = unsafe { k.submit(cbs, q.kaio_fd.raw()) }.unwrap_or(0);
                q.kaio_inflight.fetch_sub((cbs.len() - n) as u32, AcqRel);
                n
            }),
            Route::Threads => {
                let mut l = List::new();
                for &cb in cbs {
                    // SAFETY: cb is live and in no list.
                    unsafe { l.push_back(cb) };
                }
                if q.pool.push(&mut l, self.blocking) {
                    match get() {
                        // A blocking context starts the worker itself (no hand-off); others ask
                        // the helper.
                        Some(e) if self.blocking => q.pool.grow(e, q.idx),
                        _ => q.want_worker_if_needed(),
                    }
                    cbs.len()
                } else {
                    // Could not take the work lock in a non-blocking context.
                    let mut rest = l;
                    while let Some(cb) = rest.pop_front() {
                        // SAFETY: cb is live; the helper takes it from here.
                        unsafe {
                            cb.state().store(phase::DEFERRED, Release);
                            q.deferred.push(cb);
                        }
                    }
                    q.wake();
                    return;
                }
            }
        };
        for &cb in &cbs[taken..] {
            // What the kernel would not take: a blocking context falls back to the workers (kernel
            // AIO slots exhausted, or a ring error); a non-blocking one leaves it to the helper.
            // SAFETY: cb is live, not in the kernel, and in no list.
            unsafe {
                if self.blocking || route == Route::Threads {
                    q.stats.fallbacks.fetch_add(1, Relaxed);
                    cb.meta().fetch_and(!meta::ROUTE_MASK, Relaxed);
                    cb.meta().fetch_or(Route::Threads.bits(), Relaxed);
                    let mut l = List::new();
                    l.push_back(cb);
                    q.pool.push(&mut l, true);
                    q.want_worker_if_needed();
                } else {
                    cb.state().store(phase::DEFERRED, Release);
                    q.deferred.push(cb);
                    q.wake();
                }
            }
        }
    }
}

/// Chooses the engine for a request on an fd of class `k`.
///
/// O_DIRECT files and block devices go to kernel AIO unless io_uring is forced: on the
/// reference machine it is the faster of the two for them (the benchmark's per-engine figures
/// are in the README). Only if the class was checked, though: a lone request on an idle fd
/// whose class came from the cache unchecked goes to io_uring, which is safe whatever the fd
/// has become. Everything else goes to io_uring when the queue has a ring, else to the workers.
fn route_for(eng: &Engine, q: &Queue, k: u32) -> Route {
    let checked_direct = k & (kind::DIRECT | kind::UNCHECKED) == kind::DIRECT;
    if checked_direct && matches!(eng.mode, Mode::Auto | Mode::Kaio) && q.kaio_start(eng).is_some() {
        return Route::Kaio;
    }
    if q.ring.is_some() {
        return Route::Uring;
    }
    Route::Threads
}

/// Frees the side block of a SIGEV_THREAD request (the notifier's job storage, boxed in `accept`).
unsafe fn free_thread_aux(job: *mut ThreadJob) {
    // SAFETY: `job` was boxed in `accept` and the notifier is done with it.
    drop(unsafe { Box::from_raw(job) });
}

/// Accepts one request: checks, records its state in the aiocb, and issues it into `batch` (or
/// parks it on its fd). On error nothing was recorded and the aiocb is untouched but for status.
///
/// # Safety
/// `cb` points to a live aiocb that the caller will not modify or free until it completes.
pub unsafe fn accept(
    eng: &'static Engine,
    q: &'static Queue,
    cb: Cb,
    op: Op,
    notify: &Notify,
    group: *const Group,
    batch: &mut Batch,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees cb is live.
    unsafe {
        if cb.in_flight(eng.epoch) && cb.error().load(Acquire) == libc::EINPROGRESS {
            return Err(Errno::EINVAL);
        }
        let fd = cb.fd();
        let fe = eng.fds.entry(fd)?;
        let (k, changed) = fe.classify(fd, q.ring.is_some(), (*cb.0).aio_offset == 0)?;
        let stream = k & kind::STREAM != 0;
        if !stream && !op.is_sync() && (*cb.0).aio_offset < 0 {
            return Err(Errno::EINVAL);
        }
        let route = route_for(eng, q, k);
        let ordered = !op.is_sync() && (stream || (op == Op::Write && k & kind::APPEND != 0));
        // Completions someone must act on without anyone waiting: a notification (of the
        // request, or of its lio group), a barrier (requests wait behind it), and a stream write
        // larger than PIPE_BUF (io_uring may take it in parts; the rest must then be issued).
        // Requests parked on an fd make every helper watch meanwhile (see `fd::wait_in`).
        let partial = stream && op == Op::Write && (*cb.0).aio_nbytes > libc::PIPE_BUF;
        let watched = !notify.is_none() || (!group.is_null() && !(*group).notify.is_none()) || op.is_sync() || partial;
        let mut m = q.idx as u32 | route.bits() | ((op as u32) << meta::OP_SHIFT);
        if ordered {
            m |= meta::ORDERED;
        }
        if op.is_sync() {
            m |= meta::BARRIER;
        }
        if stream {
            m |= meta::STREAM;
        }
        if watched {
            m |= meta::WATCHED;
        }
        let aux: *mut u8 = if let Notify::Thread { .. } = notify {
            notify::ensure_started()?;
            Box::into_raw(Box::new(ThreadJob::new())) as *mut u8
        } else {
            ptr::null_mut()
        };
        cb.meta().store(m, Relaxed);
        cb.aux().store(aux, Relaxed);
        cb.group().store(group as *mut u8, Relaxed);
        cb.ret().store(0, Relaxed);
        cb.progress().store(0, Relaxed);
        cb.error().store(libc::EINPROGRESS, Relaxed);
        cb.state().store(phase::IDLE, Relaxed);
        cb.tag().store(cb.tag_value(eng.epoch), Release);
        if watched {
            q.watch_inc();
        }
        if eng.stats_on {
            let s = &q.stats;
            s.submitted.fetch_add(1, Relaxed);
            let now = s.inflight.fetch_add(1, Relaxed) + 1;
            if now > s.peak.load(Relaxed) {
                s.peak.store(now, Relaxed);
            }
        }
        if !ordered && !op.is_sync() && !changed && fe.slow.load(SeqCst) == 0 {
            fe.inflight.fetch_add(1, SeqCst);
            cb.meta().store(m | meta::COUNTED, Relaxed);
            batch.push(cb);
        } else {
            fd::slow_submit(eng, fe, cb, changed, batch);
        }
    }
    Ok(())
}

/// The notification a request asked for, read from its aiocb (validated at submission).
///
/// # Safety
/// `cb` is live.
unsafe fn notify_of(cb: Cb) -> Notify {
    // SAFETY: cb is live; the sigevent was validated when the request was accepted.
    Notify::validated(unsafe { &(*cb.0).aio_sigevent })
}

/// Ends a request exactly once: publishes its result, then does the bookkeeping that no longer
/// needs the aiocb, then notifies. The caller must be the request's single owner at this point
/// (the reaper of its completion, its worker, or the canceller that took it out of a list).
///
/// # Safety
/// `cb` is live and owned by the caller; it must not be touched by anyone after this call.
pub unsafe fn finish(eng: &Engine, cb: Cb, res: isize, blocking: bool) {
    // SAFETY: the caller owns cb until publish.
    let (m, fdn, aux, group, notify) = unsafe {
        (
            cb.meta().load(Relaxed),
            cb.fd(),
            cb.aux().load(Relaxed),
            cb.group().load(Relaxed) as *const Group,
            notify_of(cb),
        )
    };
    // SAFETY: as above; after this line the caller may reuse the aiocb.
    unsafe { cb.publish(res) };
    let qi = (m & meta::QUEUE_MASK) as usize;
    let q = eng.queue(qi);
    if eng.stats_on {
        q.stats.completed.fetch_add(1, Relaxed);
        q.stats.inflight.fetch_sub(1, Relaxed);
        if res == -(libc::ECANCELED as isize) {
            q.stats.cancelled.fetch_add(1, Relaxed);
        }
    }
    if m & meta::WATCHED != 0 {
        q.watch_dec();
    }
    if m & meta::COUNTED != 0 {
        if let Some(fe) = eng.fds.get(fdn) {
            fd::complete(eng, qi, fe, m, blocking);
        }
    }
    if !notify.is_none() {
        // SAFETY: for SIGEV_THREAD, aux is the ThreadAux boxed at submission, whose job stays
        // valid until the notifier calls `free_thread_aux`.
        unsafe { notify::deliver(&notify, aux as *mut ThreadJob, free_thread_aux) };
    }
    if !group.is_null() {
        // SAFETY: a group outlives its members' completions (it holds a reference for them).
        unsafe { Group::member_done(eng, group, blocking) };
    }
    eng.done.notify_all();
}

/// A `lio_listio` call: counts its members and sends the list notification once all are done.
pub struct Group {
    /// Members not yet done, plus one held by the submitter until it has submitted them all.
    remaining: AtomicU64,
    /// References: the submitter's, and one released by the last member.
    refs: AtomicU32,
    notify: Notify,
    job: ThreadJob,
    /// Link in the engine's list of groups to free (see `Group::release`).
    next_free: AtomicPtr<Group>,
}

impl Group {
    pub fn new(notify: Notify) -> Result<*const Group, Errno> {
        if let Notify::Thread { .. } = notify {
            notify::ensure_started()?;
        }
        Ok(Box::into_raw(Box::new(Group {
            remaining: AtomicU64::new(1),
            refs: AtomicU32::new(2),
            notify,
            job: ThreadJob::new(),
            next_free: AtomicPtr::new(ptr::null_mut()),
        })))
    }

    ///
    /// # Safety
    /// `g` is live.
    pub unsafe fn add_member(g: *const Group) {
        // SAFETY: forwarded.
        unsafe { (*g).remaining.fetch_add(1, Relaxed) };
    }

    pub fn all_done(&self) -> bool {
        self.remaining.load(Acquire) == 0
    }

    ///
    /// # Safety
    /// `g` is live; called once per member and once by the submitter.
    pub unsafe fn member_done(eng: &Engine, g: *const Group, blocking: bool) {
        // SAFETY: the group holds a reference for its pending members.
        let gr = unsafe { &*g };
        if gr.remaining.fetch_sub(1, AcqRel) == 1 {
            let job = &gr.job as *const ThreadJob as *mut ThreadJob;
            // SAFETY: the job is used for this one delivery; on_done drops the members' reference.
            let taken = unsafe { notify::deliver(&gr.notify, job, Group::release_job) };
            if !taken {
                // SAFETY: the members' reference.
                unsafe { Group::release(eng, g, blocking) };
            }
        }
    }

    unsafe fn release_job(job: *mut ThreadJob) {
        let off = core::mem::offset_of!(Group, job);
        // SAFETY: job is the `job` field of a live Group; the notifier thread may free.
        unsafe {
            if let Some(eng) = get() {
                Group::release(eng, (job as *mut u8).sub(off) as *const Group, true);
            }
        }
    }

    ///
    /// # Safety
    /// `g` is live and the caller owns one reference.
    ///
    /// The last reference frees the group, but only where freeing is allowed: a reaper that
    /// may be running in a signal handler (`blocking` false) must not call `free`, so it hands
    /// the group to the helpers' free list instead (a lock-free push; the helper that takes the
    /// list owns it whole, so there is no ABA).
    pub unsafe fn release(eng: &Engine, g: *const Group, blocking: bool) {
        // SAFETY: forwarded.
        if unsafe { (*g).refs.fetch_sub(1, AcqRel) } != 1 {
            return;
        }
        if blocking {
            // SAFETY: last reference: nobody else can reach the group.
            drop(unsafe { Box::from_raw(g as *mut Group) });
            return;
        }
        let node = g as *mut Group;
        let mut head = eng.free_groups.load(Relaxed);
        loop {
            // SAFETY: the group is ours (last reference) until the push succeeds.
            unsafe { (*node).next_free.store(head, Relaxed) };
            match eng.free_groups.compare_exchange_weak(head, node, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        if let Some(q) = eng.queues.iter().find_map(|c| c.get()) {
            q.wake();
        }
    }

    /// Frees every group handed over by `release` (helper threads only).
    fn free_released(eng: &Engine) {
        let mut cur = eng.free_groups.swap(ptr::null_mut(), Acquire);
        while !cur.is_null() {
            // SAFETY: groups on the list are unreachable by anyone else; each is freed once.
            let next = unsafe { (*cur).next_free.load(Relaxed) };
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(cur) });
            cur = next;
        }
    }
}

/// The two kernel completion sources a queue may have.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kernel {
    Ring,
    Kaio,
}

/// What `wait_until` waits on.
#[derive(Default)]
pub struct WaitSet {
    /// Queues whose io_uring holds awaited requests (bit i = queue i).
    pub ring_queues: u64,
    /// Queues whose kernel AIO context holds awaited requests.
    pub kaio_queues: u64,
    /// True if some awaited request can only be completed by someone else (workers, a helper).
    pub others: bool,
}

impl WaitSet {
    fn queues(&self) -> u64 {
        self.ring_queues | self.kaio_queues
    }

    /// The one kernel source to sleep on, if everything awaited is there.
    fn single(&self) -> Option<(usize, Kernel)> {
        if self.others || self.queues().count_ones() != 1 {
            return None;
        }
        match (self.ring_queues, self.kaio_queues) {
            (r, 0) => Some((r.trailing_zeros() as usize, Kernel::Ring)),
            (0, k) => Some((k.trailing_zeros() as usize, Kernel::Kaio)),
            _ => None,
        }
    }
}

/// Waits until `cond()` is true, reaping completions itself whenever it can.
/// `Err(EAGAIN)` on timeout, `Err(EINTR)` when a signal handler ran. Async-signal-safe.
pub fn wait_until(eng: &Engine, set: impl Fn() -> (bool, WaitSet), timeout: Option<Duration>) -> Result<(), Errno> {
    let deadline = timeout.map(|t| sys::now() + t);
    loop {
        let (done, ws) = set();
        if done {
            return Ok(());
        }
        for qi in bits(ws.queues()) {
            eng.queue(qi).reap(eng, false);
        }
        let (done, ws) = set();
        if done {
            return Ok(());
        }
        let left = match deadline {
            Some(d) => {
                let now = sys::now();
                if now >= d {
                    return Err(Errno::EAGAIN);
                }
                Some(d - now)
            }
            None => None,
        };
        // One kernel source and nothing else: sleep in the kernel on it, then reap ourselves.
        // The sleeper holds the source's reap lock, so nobody can take its completion while it
        // sleeps (a ring sleeper without it slept on after the helper had taken its completion);
        // other waiters on the same source sleep on the event counter below, which the sleeper
        // bumps for every completion it reaps.
        if let Some((qi, kernel)) = ws.single() {
            let q = eng.queue(qi);
            if let Some(g) = q.reap_lock(kernel).try_lock() {
                if set().0 {
                    q.release_reap(g);
                    return Ok(());
                }
                let r = match (kernel, &q.ring) {
                    (Kernel::Ring, Some(ring)) => {
                        let r = if ring.has_completions() { Ok(()) } else { ring.wait(left) };
                        let _ = q.reap_source(eng, kernel, false, None);
                        r
                    }
                    _ => q.reap_source(eng, kernel, false, Some(left)),
                };
                q.release_reap(g);
                if r == Err(Errno::EINTR) {
                    return Err(Errno::EINTR);
                }
                continue;
            }
        }
        // Otherwise someone else reaps: make the helpers of our queues watch, and sleep.
        for qi in bits(ws.queues()) {
            eng.queue(qi).watch_inc();
        }
        let ticket = eng.done.prepare();
        let r = if set().0 { Ok(()) } else { eng.done.wait(ticket, left) };
        eng.done.unprepare();
        for qi in bits(ws.queues()) {
            eng.queue(qi).watch_dec();
        }
        if r == Err(Errno::EINTR) {
            return Err(Errno::EINTR);
        }
    }
}

fn bits(mut m: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        (m != 0).then(|| {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            i
        })
    })
}

/// Adds request `cb` (in flight, EINPROGRESS) to a wait set.
///
/// # Safety
/// `cb` is live.
pub unsafe fn wait_set_add(ws: &mut WaitSet, cb: Cb) {
    // SAFETY: forwarded.
    let (m, st) = unsafe { (cb.meta().load(Relaxed), cb.state().load(Acquire)) };
    let bit = 1u64 << (m & meta::QUEUE_MASK);
    match Route::from_bits(m) {
        Route::Uring => ws.ring_queues |= bit,
        Route::Kaio => ws.kaio_queues |= bit,
        Route::Threads => ws.others = true,
    }
    if st != phase::ISSUED {
        // Waiting in user space: someone else issues it first.
        ws.others = true;
    }
}

/// Cancels one request. Returns AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
///
/// # Safety
/// `cb` is live.
pub unsafe fn cancel_one(eng: &'static Engine, cb: Cb) -> c_int {
    use crate::abi::{AIO_ALLDONE, AIO_CANCELED, AIO_NOTCANCELED};
    let mut spins = 0;
    // SAFETY: cb is live (caller) for the whole call: the caller waits in aio_cancel.
    unsafe {
        loop {
            if !cb.in_flight(eng.epoch) || cb.error().load(Acquire) != libc::EINPROGRESS {
                return AIO_ALLDONE;
            }
            let m = cb.meta().load(Relaxed);
            let q = eng.queue((m & meta::QUEUE_MASK) as usize);
            let st = cb.state().load(Acquire);
            // A worker's stream request is ISSUED only for the length of one transfer attempt;
            // look again after a yield rather than call it uncancellable.
            if st & 0xff == phase::ISSUED
                && Route::from_bits(m) == Route::Threads
                && m & meta::STREAM != 0
                && spins < 64
            {
                spins += 1;
                sys::yield_now();
                continue;
            }
            match st & 0xff {
                phase::WAITING => {
                    if let Some(fe) = eng.fds.get(cb.fd()) {
                        if fd::unlink_waiting(eng, fe, cb) {
                            finish(eng, cb, -(libc::ECANCELED as isize), true);
                            return AIO_CANCELED;
                        }
                    }
                }
                phase::QUEUED => {
                    let removed = q.pool.work.lock().remove(cb);
                    if removed {
                        finish(eng, cb, -(libc::ECANCELED as isize), true);
                        return AIO_CANCELED;
                    }
                }
                phase::POLLING => {
                    if cb.state().compare_exchange(st, phase::CANCELLING | (st & !0xff), AcqRel, Acquire).is_ok() {
                        q.pool.interrupt((st >> 8) as usize);
                        let _ = wait_done(eng, cb);
                        return AIO_CANCELED;
                    }
                }
                phase::ISSUED if Route::from_bits(m) == Route::Uring => {
                    cb.state().fetch_or(phase::CANCEL_REQ, AcqRel);
                    let slot = uring::CancelSlot { res: Default::default(), done: AtomicU32::new(0) };
                    let r = {
                        let _g = q.sq.lock();
                        q.ring.as_ref().map_or(Err(Errno::ENOSYS), |r| r.submit_cancel(Some(cb), -1, &slot))
                    };
                    if r.is_err() {
                        return AIO_NOTCANCELED;
                    }
                    wait_slot(eng, q, &slot);
                    let res = slot.res.load(Acquire);
                    if res == -libc::EALREADY {
                        return AIO_NOTCANCELED;
                    }
                    // Found and cancelled (0), or already complete (ENOENT): wait for the final status.
                    let _ = wait_done(eng, cb);
                    let canceled = cb.error().load(Acquire) == libc::ECANCELED;
                    return if res == 0 && canceled { AIO_CANCELED } else { AIO_ALLDONE };
                }
                phase::DONE | phase::IDLE => {
                    let _ = wait_done(eng, cb);
                    return AIO_ALLDONE;
                }
                _ => return AIO_NOTCANCELED,
            }
        }
    }
}

/// Waits for the CQE of an internal cancel SQE.
fn wait_slot(eng: &Engine, q: &Queue, slot: &uring::CancelSlot) {
    let _ = wait_until(
        eng,
        || {
            let done = slot.done.load(Acquire) != 0;
            (done, WaitSet { ring_queues: 1 << q.idx, ..WaitSet::default() })
        },
        None,
    );
}

/// Waits (without timeout, ignoring signals) until `cb` is no longer in progress.
///
/// # Safety
/// `cb` is live.
unsafe fn wait_done(eng: &Engine, cb: Cb) -> Result<(), Errno> {
    loop {
        let r = wait_until(
            eng,
            || {
                // SAFETY: cb is live (caller).
                unsafe {
                    if cb.error().load(Acquire) != libc::EINPROGRESS {
                        return (true, WaitSet::default());
                    }
                    let mut ws = WaitSet::default();
                    wait_set_add(&mut ws, cb);
                    (false, ws)
                }
            },
            None,
        );
        if r != Err(Errno::EINTR) {
            return r;
        }
    }
}

/// Cancels every request on `fd`. Returns AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
pub fn cancel_fd(eng: &'static Engine, fdn: c_int) -> c_int {
    use crate::abi::AIO_ALLDONE;
    let Some(fe) = eng.fds.get(fdn) else { return AIO_ALLDONE };
    fe.cancelling.fetch_add(1, AcqRel);
    let r = cancel_fd_entry(eng, fdn, fe);
    fe.cancelling.fetch_sub(1, AcqRel);
    r
}

fn cancel_fd_entry(eng: &'static Engine, fdn: c_int, fe: &FdEntry) -> c_int {
    use crate::abi::{AIO_ALLDONE, AIO_CANCELED, AIO_NOTCANCELED};
    let mut cancelled = 0u64;
    // 1. Requests waiting on the fd's own lists never touched it.
    let mut waiting = fd::unlink_all_waiting(eng, fe);
    while let Some(cb) = waiting.pop_front() {
        // SAFETY: unlinked under the fd lock, so we own it.
        unsafe { finish(eng, cb, -(libc::ECANCELED as isize), true) };
        cancelled += 1;
    }
    for qi in 0..eng.nqueues() {
        let Some(q) = eng.queue_if_started(qi) else { continue };
        // 2. Requests queued for workers.
        let mut mine = q.pool.work.lock().drain_filter(|cb| {
            // SAFETY: members of the work list are live.
            unsafe { cb.fd() == fdn }
        });
        while let Some(cb) = mine.pop_front() {
            // SAFETY: unlinked under the work lock, so we own it.
            unsafe { finish(eng, cb, -(libc::ECANCELED as isize), true) };
            cancelled += 1;
        }
        // 3. Requests a worker is polling for. A worker clears its `current` under the work
        // lock before it finishes the request, so under that lock `current` is live. A request
        // caught between two attempts (ISSUED for the length of one system call) is looked at
        // again after a yield, a few times.
        for round in 0..8 {
            let mut taken: Vec<Cb> = Vec::new();
            let mut transient = false;
            {
                let _g = q.pool.work.lock();
                for (w, wk) in q.pool.workers.iter().enumerate() {
                    let p = wk.current.load(Acquire);
                    if p.is_null() {
                        continue;
                    }
                    let cb = Cb(p);
                    // SAFETY: live while it is a worker's current request (see above).
                    unsafe {
                        if cb.fd() != fdn {
                            continue;
                        }
                        let st = cb.state().load(Acquire);
                        if st & 0xff == phase::POLLING
                            && cb
                                .state()
                                .compare_exchange(st, phase::CANCELLING | (st & !0xff), AcqRel, Acquire)
                                .is_ok()
                        {
                            q.pool.interrupt(w);
                            taken.push(cb);
                        } else if st & 0xff == phase::ISSUED {
                            transient = true;
                        }
                    }
                }
            }
            for cb in taken {
                // SAFETY: a CANCELLING request is finished by its worker, which we wait for.
                let _ = unsafe { wait_done(eng, cb) };
                cancelled += 1;
            }
            if !transient || round == 7 {
                break;
            }
            sys::yield_now();
        }
        // 4. Requests in the ring.
        if let Some(r) = &q.ring {
            let slot = uring::CancelSlot { res: Default::default(), done: AtomicU32::new(0) };
            let ok = {
                let _g = q.sq.lock();
                // SAFETY: slot outlives its CQE: we wait for it below.
                unsafe { r.submit_cancel(None, fdn, &slot) }.is_ok()
            };
            if ok {
                wait_slot(eng, q, &slot);
                let n = slot.res.load(Acquire);
                if n > 0 {
                    cancelled += n as u64;
                }
            }
        }
    }
    // Let the cancelled ring requests' completions land, then see what is left.
    for qi in 0..eng.nqueues() {
        if let Some(q) = eng.queue_if_started(qi) {
            q.reap(eng, true);
        }
    }
    if fe.inflight.load(SeqCst) != 0 {
        AIO_NOTCANCELED
    } else if cancelled > 0 {
        AIO_CANCELED
    } else {
        AIO_ALLDONE
    }
}

/// pthread_atfork handlers: the child starts with no engine (its parent's threads are gone and
/// its rings are not its own); the init lock is held across fork so that it is consistent.
fn register_fork_handlers() {
    static DONE: AtomicU32 = AtomicU32::new(0);
    if DONE.swap(1, AcqRel) != 0 {
        return;
    }
    extern "C" fn prepare() {
        core::mem::forget(INIT.lock());
    }
    extern "C" fn parent() {
        // SAFETY: prepare took the lock in this thread.
        unsafe { INIT.force_unlock() };
    }
    extern "C" fn child() {
        // SAFETY: the child is single-threaded here; prepare took the lock before fork.
        unsafe { INIT.force_unlock() };
        let old = ENGINE.swap(ptr::null_mut(), AcqRel);
        EPOCH.fetch_add(1, AcqRel);
        if !old.is_null() {
            // SAFETY: the parent's engine is never freed; we only close its descriptors, which
            // the child inherited. Its memory is leaked on purpose.
            let old = unsafe { &*old };
            for q in old.queues.iter().filter_map(|c| c.get()) {
                // SAFETY: the parent's engine is unreachable in the child once ENGINE is swapped
                // out above, so nothing uses these inherited descriptors any more.
                unsafe {
                    if let Some(r) = &q.ring {
                        sys::close(r.fd());
                    }
                    q.wake_fd.close();
                    q.kaio_fd.close();
                    for w in q.pool.workers.iter() {
                        if let Some(e) = w.evfd.get() {
                            e.close();
                        }
                    }
                }
            }
        }
        notify::after_fork_child();
    }
    sys::at_fork(prepare, parent, child);
}
