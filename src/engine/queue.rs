//! A queue: one per CPU (at most 64), each with its own backends (an io_uring ring, a kernel AIO
//! context started on first O_DIRECT use, a worker pool), its helper's doorbell, and the lock-free
//! hand-offs to that helper. Starting a queue never fails: a ring or an eventfd that cannot be had
//! (no descriptor free, io_uring forbidden) only means fewer backends. Threads are given a home queue in turn (see `core::Engine::home`).
//!
//! Reaping is done here for whichever caller asks, with the reap lock of each kernel source; what
//! is reaped is handed to the caller's callback as `Completion`s (the engine's `complete`).

use core::sync::atomic::{AtomicU32, Ordering::*};

use once_cell::sync::OnceCell;

pub(crate) mod pending;

use super::backend::kaio::Ctx;
use super::backend::threads::{Host, Pool};
use super::backend::uring::Ring;
use super::fd::table::{FdEntry, Kicks};
use super::request::{Backend, Completion, Completions, ReqPtr, ReqStack};
use super::stats::QueueStats;
use crate::errno::Errno;
use crate::sys::{self, Doorbell, EventCount, Guard, Lock, OwnEventFd};
use pending::Pending;

/// What a queue is started with (from the environment, see `core::Config`).
pub(crate) struct QueueConfig {
    /// `AIO_RS_BACKEND`: the one backend to use, or None for the default routing.
    pub(crate) forced: Option<Backend>,
    /// Submission queue entries of each ring (`AIO_RS_RING_ENTRIES`).
    pub(crate) ring_entries: u32,
    /// Slots of each kernel AIO context (`AIO_RS_KAIO_SLOTS`, or a share of `fs.aio-max-nr`).
    pub(crate) kaio_slots: u32,
    /// Most workers per queue (`aio_init`'s `aio_threads` spread over the queues, or 16).
    pub(crate) workers: u32,
    /// `AIO_RS_VERBOSE`.
    pub(crate) verbose: bool,
}

pub(crate) struct Queue {
    pub(crate) idx: usize,
    pub(crate) ring: Option<Ring>,
    /// Kernel AIO context: started with the queue when `AIO_RS_BACKEND=kaio`, otherwise on the
    /// first O_DIRECT request (so a process that never uses O_DIRECT takes none of the
    /// system-wide `fs.aio-max-nr` budget). `None` inside: it could not be created.
    kaio: OnceCell<Option<Ctx>>,
    /// Why this queue has the backends it has (for AIO_RS_VERBOSE).
    pub(crate) why: String,
    pub(crate) pool: Pool,
    /// Requests in flight on this queue whose completion someone must act on promptly, plus
    /// waiters on this queue that cannot reap it themselves. Non-zero: the helper watches.
    watch: AtomicU32,
    /// How the helper is woken (futex while it watches nothing, an eventfd while it polls).
    pub(crate) bell: Doorbell,
    /// Eventfd kernel AIO completions are counted on (made with the context).
    pub(crate) kaio_fd: OwnEventFd,
    /// Requests waiting for the helper to issue them (a non-blocking context could not, or they
    /// are for the ring, which only a helper enters: `uring::may_submit`).
    pub(crate) deferred: ReqStack,
    /// Requests handed to the helper (`defer`) that it has not issued yet (`issued_deferred`):
    /// `aio_cancel(fd, NULL)` waits for them to reach the ring before it asks the ring.
    handing: AtomicU32,
    /// Fds whose lists the helper must re-evaluate.
    pub(crate) kicks: Kicks,
    /// Set by the helper when it found a reap lock busy (see `release_reap`).
    helper_waits: AtomicU32,
    /// This queue's row of the stats file (`AIO_RS_STATS`), else None: nothing is counted.
    pub(crate) stats: Option<&'static QueueStats>,
    /// Moved by every completion of this queue's requests, besides the engine's `done`: a waiter
    /// whose awaited requests are all this queue's sleeps here, so that completions of other
    /// queues' requests (other threads') do not wake it (`wait::Wait::step`).
    pub(crate) done: EventCount,
    /// Reads deferred to share one `io_submit` (see `engine::deferred`).
    pub(crate) pending: Pending,
    /// 1 while the helper ticks to keep the status fields of kernel completions nobody reaps
    /// current (`helper::Fields`). The hand-shake: a submitter adds to its source's in-flight
    /// count and then loads this (`kernel_issued`); the helper stores 0 here and then loads the
    /// counts; all SeqCst, so either the submitter sees 0 and wakes the helper, or the helper
    /// sees the request and keeps ticking.
    kticking: AtomicU32,
}

/// What the helper's tick sees of one kernel source (`Queue::look`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Look {
    /// Requests are in the source.
    pub(crate) in_flight: bool,
    /// Its completion ring shows completions nobody has taken yet.
    pub(crate) entries: bool,
    /// Completions taken from it so far (wrapping).
    pub(crate) reaped: u32,
    /// Its reap lock is held (its holder may sleep on the source, and reaps when woken).
    pub(crate) held: bool,
}

impl Queue {
    pub(crate) fn start(cfg: &QueueConfig, idx: usize, stats: Option<&'static QueueStats>) -> Result<Queue, Errno> {
        let mut why = Vec::new();
        // A ring only where `AIO_RS_BACKEND=uring` asks for one: the default routing does
        // without (see `submit::route`).
        let ring = match cfg.forced {
            Some(Backend::Uring) => match Ring::new(cfg.ring_entries) {
                Ok(r) => Some(r),
                Err(e) => {
                    why.push(format!("io_uring unavailable ({})", sys::strerror(e)));
                    None
                }
            },
            _ => None,
        };
        let kaio = OnceCell::new();
        // Wanted only once a context exists (`new_ctx` makes it).
        let kaio_fd = OwnEventFd::made_later();
        if cfg.forced == Some(Backend::Kaio) {
            let c = Self::new_ctx(cfg, &kaio_fd)
                .map_err(|e| why.push(format!("kernel AIO unavailable ({})", sys::strerror(e))));
            let _ = kaio.set(c.ok());
        }
        let kaio_now = kaio.get().is_some_and(|c: &Option<Ctx>| c.is_some());
        let engines = match (cfg.forced, &ring, kaio_now) {
            (_, Some(_), _) => "io_uring for every descriptor, submitted by the helper thread",
            (None, None, _) => "page-cache reads on the caller's thread, kernel AIO for O_DIRECT files (started at first use), worker threads for the rest",
            (_, None, true) => "kernel AIO for O_DIRECT files, worker threads for the rest",
            _ => "worker threads for every descriptor",
        };
        why.insert(0, engines.to_string());
        let q = Queue {
            idx,
            ring,
            kaio,
            why: why.join("; "),
            pool: Pool::new(cfg.workers),
            watch: AtomicU32::new(0),
            bell: Doorbell::new(),
            kaio_fd,
            deferred: ReqStack::new(),
            handing: AtomicU32::new(0),
            kicks: Kicks::new(),
            helper_waits: AtomicU32::new(0),
            stats,
            done: EventCount::new(),
            pending: Pending::new(),
            kticking: AtomicU32::new(0),
        };
        if q.ring.is_none() {
            // Stream requests go to the workers, and wait for readiness in their epoll instance,
            // made by the next AIO call (`refresh_fds`).
            q.pool.want_readiness();
        }
        if let Some(s) = stats {
            s.started(q.ring.is_some());
            if kaio_now {
                s.kaio_started();
            }
        }
        if cfg.verbose {
            sys::log_line(format_args!("queue {idx}: {}", q.why));
        }
        Ok(q)
    }

    /// Wakes the helper (async-signal-safe: see `sys::Doorbell`).
    pub(crate) fn wake(&self) {
        self.bell.ring();
    }

    /// Makes the eventfds this queue lacks (its helper's, its kernel AIO context's, its workers'),
    /// if any: they were never made, or the program took their numbers. Called on program threads
    /// at each AIO call (three loads when nothing is missing); our own threads never make a
    /// descriptor at the lowest free number (see `sys::OwnEventFd`).
    #[inline]
    pub(crate) fn refresh_fds(&self) {
        if self.bell.fd_wanted() | self.kaio_fd.wanted() | self.pool.fds_wanted() {
            self.make_fds();
        }
    }

    #[cold]
    #[inline(never)]
    fn make_fds(&self) {
        if self.bell.fd_wanted() {
            self.bell.make_fd();
        }
        if self.kaio_fd.wanted() && self.kaio().is_some() {
            let _ = self.kaio_fd.ensure();
        }
        if self.pool.fds_wanted() {
            self.pool.make_fds();
        }
    }

    /// The ring, while it takes submissions.
    pub(crate) fn live_ring(&self) -> Option<&Ring> {
        self.ring.as_ref().filter(|r| !r.is_dead())
    }

    /// What this queue's workers are started with.
    pub(crate) fn host(&'static self, sink: &'static dyn Completions) -> Host {
        Host { sink, helper: &self.bell, queue: self.idx }
    }

    /// Asks the helper for another worker if work is queued and no worker is idle
    /// (async-signal-safe).
    pub(crate) fn want_worker_if_needed(&self) {
        self.pool.want_worker(&self.bell);
    }

    pub(crate) fn watch_inc(&self) {
        if self.watch.fetch_add(1, SeqCst) == 0 {
            self.wake();
        }
    }

    pub(crate) fn watch_dec(&self) {
        self.watch.fetch_sub(1, SeqCst);
    }

    /// Whether the helper must watch: someone must be told of a completion (or `forced`: requests
    /// are parked on some fd).
    pub(crate) fn watching(&self, forced: bool) -> bool {
        self.watch.load(SeqCst) != 0 || forced
    }

    /// Hands `req` to the helper to issue (async-signal-safe); the caller then wakes the helper.
    ///
    /// # Safety
    /// `req` is live, owned by the caller and in no list.
    pub(crate) unsafe fn defer(&self, req: ReqPtr) {
        // SAFETY: the caller owns `req`, live and in no list: we may move its phase and push it.
        unsafe {
            req.get().defer();
            self.handing.fetch_add(1, SeqCst);
            self.deferred.push(req);
        }
    }

    /// Gives back claimed request `r` (a waiter's or a harvest's claim that moved nothing, live,
    /// owned by the caller, in no list) to its pool's readiness set, or, if the set's lock is
    /// busy (the caller may be in a signal handler), to the helper, which issues it again.
    /// Async-signal-safe.
    ///
    /// # Safety
    /// `r` was claimed from this queue's pool (`Pool::claim`, `Pool::claim_deferred`) by the
    /// caller, which owns it and never touches it again.
    pub(crate) unsafe fn give_back_claimed(&self, r: ReqPtr) {
        if !self.pool.put_back(r) {
            self.pool.claim_handed_on();
            // SAFETY: claimed by the caller, which alone owns it, in no list (`put_back` did not
            // take it); the helper owns it from here.
            unsafe { self.defer(r) };
            self.wake();
        }
    }

    /// The helper issued (or finished) `n` requests it took from `deferred`.
    pub(crate) fn issued_deferred(&self, n: u32) {
        self.handing.fetch_sub(n, SeqCst);
    }

    /// Whether requests handed to the helper are still on their way to their backend.
    pub(crate) fn handing_over(&self) -> bool {
        self.handing.load(SeqCst) != 0
    }

    /// Hands an fd's re-evaluation to the helper (async-signal-safe).
    pub(crate) fn defer_kick(&self, fe: &FdEntry) {
        if self.kicks.push(fe) {
            self.wake();
        }
    }

    /// Wakes whoever sleeps in the kernel on source `k` of this queue: a request that someone
    /// may be waiting for there has moved to another engine (see `batch`), and its completion will
    /// not arrive where that waiter sleeps. The kernel AIO eventfd is signalled (async-signal-safe);
    /// a ring gets a no-op, which needs its submission lock: without `blocking`, only if that lock
    /// is free (a sleep on a ring is capped anyway, see `wait`).
    pub(crate) fn wake_source(&self, k: Backend, blocking: bool) {
        match k {
            Backend::Uring => {
                if let Some(r) = self.live_ring() {
                    r.wake_waiters(blocking);
                }
            }
            Backend::Kaio => self.kaio_fd.signal(),
            Backend::Threads => {}
        }
    }

    /// `n` requests went into a kernel source of this queue (already counted in its in-flight
    /// count): the helper must tick, and is woken if it stopped (see `kticking`). Returns `n`.
    /// Async-signal-safe; one load while the helper ticks.
    #[inline]
    pub(crate) fn kernel_issued(&self, n: usize) -> usize {
        if n != 0 && self.kticking.load(SeqCst) == 0 && self.kticking.swap(1, SeqCst) == 0 {
            self.wake();
        }
        n
    }

    /// The helper's flag of [`Queue::kernel_issued`]'s hand-shake.
    pub(crate) fn kticking(&self) -> &AtomicU32 {
        &self.kticking
    }

    /// What source `k` shows now (no system call; None if the queue has no such source). For the
    /// helper's tick (`helper::Fields`).
    pub(crate) fn look(&self, k: Backend) -> Option<Look> {
        match k {
            // A ring's completions are looked at under its reap lock (`Ring::peek_completions`);
            // while another holds it, they are its holder's to take.
            Backend::Uring => self.ring.as_ref().map(|r| {
                let peek = r.peek_completions();
                Look { in_flight: r.in_flight(), entries: peek == Some(true), reaped: r.reaped(), held: peek.is_none() }
            }),
            Backend::Kaio => self.kaio().map(|c| Look {
                in_flight: c.in_flight(),
                entries: c.has_pending(),
                reaped: c.reaped(),
                held: c.reap_lock().is_held(),
            }),
            Backend::Threads => None,
        }
    }

    /// The kernel AIO context, if started (async-signal-safe).
    pub(crate) fn kaio(&self) -> Option<&Ctx> {
        self.kaio.get().and_then(|c| c.as_ref())
    }

    /// A kernel AIO context and the eventfd its completions are counted on (without which the
    /// helper could not watch it).
    fn new_ctx(cfg: &QueueConfig, efd: &OwnEventFd) -> Result<Ctx, Errno> {
        efd.ensure().ok_or(Errno::EAGAIN)?;
        Ctx::new(cfg.kaio_slots)
    }

    /// The kernel AIO context, started on first use (submission path only).
    pub(crate) fn kaio_start(&self, cfg: &QueueConfig) -> Option<&Ctx> {
        self.kaio
            .get_or_init(|| match Self::new_ctx(cfg, &self.kaio_fd) {
                Ok(c) => {
                    if let Some(s) = self.stats {
                        s.kaio_started();
                    }
                    Some(c)
                }
                Err(e) => {
                    if cfg.verbose {
                        sys::log_line(format_args!(
                            "queue {}: kernel AIO unavailable ({}); O_DIRECT goes elsewhere",
                            self.idx,
                            sys::strerror(e)
                        ));
                    }
                    None
                }
            })
            .as_ref()
    }

    /// The reap lock of kernel source `k`, if the queue has that source.
    pub(crate) fn reap_lock(&self, k: Backend) -> Option<&Lock<()>> {
        match k {
            Backend::Uring => self.ring.as_ref().map(Ring::reap_lock),
            Backend::Kaio => self.kaio().map(Ctx::reap_lock),
            Backend::Threads => None,
        }
    }

    /// Reaps whatever completions are ready, from each kernel source the queue has, handing each
    /// to `on`. `blocking` decides whether to wait for the reap locks. Returns false if a lock was
    /// busy. Async-signal-safe when `blocking` is false (and `on` is).
    pub(crate) fn reap(&self, blocking: bool, mut on: impl FnMut(Completion)) -> bool {
        let mut all = true;
        for k in [Backend::Uring, Backend::Kaio] {
            let Some(l) = self.reap_lock(k) else { continue };
            match if blocking { Some(l.lock()) } else { l.try_lock() } {
                Some(g) => {
                    // SAFETY: the source's reap lock is held (g).
                    unsafe { self.reap_source(k, &mut on) };
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
    #[inline]
    pub(crate) fn release_reap(&self, g: Guard<'_, ()>) {
        drop(g);
        core::sync::atomic::fence(SeqCst);
        if self.helper_waits.load(SeqCst) != 0 && self.helper_waits.swap(0, SeqCst) != 0 {
            self.wake();
        }
    }

    /// The helper's attempt at a reap lock (see `release_reap`).
    pub(crate) fn helper_try_reap(&self, k: Backend) -> Option<Guard<'_, ()>> {
        let l = self.reap_lock(k)?;
        if let Some(g) = l.try_lock() {
            return Some(g);
        }
        self.helper_waits.store(1, SeqCst);
        core::sync::atomic::fence(SeqCst);
        let g = l.try_lock()?;
        self.helper_waits.store(0, SeqCst);
        Some(g)
    }

    /// Reaps source `k`, handing each completion to `on`, without waiting. Kernel AIO is asked
    /// only if its ring shows completions, so `aio_error` polling costs no system call while
    /// nothing is ready.
    ///
    /// # Safety
    /// The caller holds `k`'s reap lock.
    pub(crate) unsafe fn reap_source(&self, k: Backend, on: &mut impl FnMut(Completion)) {
        match k {
            Backend::Uring => {
                if let Some(r) = &self.ring {
                    // SAFETY: the ring's reap lock is held (caller).
                    unsafe { r.reap(&mut *on) };
                }
            }
            Backend::Kaio => {
                if let Some(c) = self.kaio().filter(|c| c.has_pending()) {
                    // SAFETY: the context's reap lock is held (caller).
                    unsafe { c.reap(false, &mut *on) };
                }
            }
            Backend::Threads => {}
        }
    }

    /// [`Queue::reap_source`] of the kernel AIO context, reading its completion ring in our
    /// memory (see `Ctx::reap`): the flusher of deferred reads.
    ///
    /// # Safety
    /// The caller holds the context's reap lock.
    #[inline(always)]
    pub(crate) unsafe fn reap_kaio_ring(&self, on: &mut impl FnMut(Completion)) {
        if let Some(c) = self.kaio().filter(|c| c.has_pending()) {
            // SAFETY: the context's reap lock is held (caller).
            unsafe { c.reap(true, &mut *on) };
        }
    }

    /// Closes the descriptors a forked child inherited from this queue (its ring's, its
    /// eventfds, its workers'), each only if its number is still ours.
    ///
    /// # Safety
    /// Nothing uses this queue afterwards.
    pub(crate) unsafe fn close_inherited(&self) {
        // SAFETY: nothing uses this queue (caller), so nothing uses its ring, eventfds or pool.
        unsafe {
            if let Some(r) = &self.ring {
                r.close_inherited();
            }
            self.bell.close_inherited();
            self.kaio_fd.close_inherited();
            self.pool.close_inherited();
        }
    }
}
