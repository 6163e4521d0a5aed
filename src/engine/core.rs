//! The engine: its queues, its fd table, the event counter every completion bumps, and its
//! configuration. Started on the first AIO call of the process (not before: a preloaded library
//! costs nothing until used); a forked child starts a new one (see `fork`).

use core::ffi::CStr;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use std::ffi::CString;

use once_cell::sync::OnceCell;

use super::fd::table::FdTable;
use super::queue::{Queue, QueueConfig};
use super::request::{Backend, MAX_QUEUES};
use super::stats::StatsFile;
use crate::errno::Errno;
use crate::sys::{self, EventCount, Lock};

/// `aio_init`'s `aio_threads`, if it was called before the engine started.
pub(crate) static CONF_WORKERS: AtomicU32 = AtomicU32::new(0);

/// The engine's configuration, read once when it starts.
pub(crate) struct Config {
    pub(crate) queue: QueueConfig,
    /// `AIO_RS_STATS`: count per queue and engine, in the stats file (see `stats`).
    pub(crate) stats_on: bool,
    /// `AIO_RS_STATS_FILE`: where the exit report goes (None: standard error).
    pub(crate) stats_file: Option<CString>,
    /// `AIO_RS_STATS_DIR`: where the stats file goes (None: `/dev/shm`); when given, the file is
    /// left there at exit for whoever reads that directory, and nothing is printed.
    pub(crate) stats_dir: Option<Vec<u8>>,
}

impl Config {
    /// Reads the environment (and `aio_init`'s setting) for an engine of `queues` queues: the one
    /// place where `AIO_RS_*` variables are read, each once, through `sys::var` (nothing in
    /// secure-execution mode). A value that makes no sense is reported on standard error, one
    /// line, and the default used.
    fn from_env(queues: usize) -> Config {
        let forced = match sys::var(c"AIO_RS_BACKEND").as_deref() {
            None | Some(b"" | b"auto") => None,
            Some(b"uring") => Some(Backend::Uring),
            Some(b"kaio") => Some(Backend::Kaio),
            Some(b"threads") => Some(Backend::Threads),
            Some(v) => {
                sys::log_line(format_args!(
                    "AIO_RS_BACKEND={} is not one of auto, uring, kaio, threads: using auto",
                    String::from_utf8_lossy(v)
                ));
                None
            }
        };
        let conf = CONF_WORKERS.load(Relaxed);
        let workers = if conf > 0 { conf.div_ceil(queues as u32).max(2) } else { 16 };
        let stats_on = env_flag(c"AIO_RS_STATS");
        let stats_file = sys::var(c"AIO_RS_STATS_FILE").filter(|v| !v.is_empty()).and_then(|v| CString::new(v).ok());
        let stats_dir = sys::var(c"AIO_RS_STATS_DIR").filter(|v| !v.is_empty());
        Config {
            queue: QueueConfig {
                forced,
                ring_entries: env_u32(c"AIO_RS_RING_ENTRIES").unwrap_or(256).clamp(1, 4096),
                kaio_slots: env_u32(c"AIO_RS_KAIO_SLOTS").unwrap_or_else(|| kaio_budget(queues)).max(1),
                workers,
                verbose: env_flag(c"AIO_RS_VERBOSE"),
            },
            stats_on,
            stats_file: stats_file.filter(|_| stats_on),
            stats_dir: stats_dir.filter(|_| stats_on),
        }
    }
}

/// A numeric tuning variable (`AIO_RS_RING_ENTRIES`, `AIO_RS_KAIO_SLOTS`: used by the tests to
/// make the kernel's limits small enough to hit).
fn env_u32(name: &CStr) -> Option<u32> {
    let v = sys::var(name)?;
    let n = core::str::from_utf8(&v).ok().and_then(|s| s.trim().parse().ok());
    if n.is_none() {
        sys::log_line(format_args!(
            "{}={} is not a number: using the default",
            name.to_string_lossy(),
            String::from_utf8_lossy(&v)
        ));
    }
    n
}

fn env_flag(name: &CStr) -> bool {
    sys::var(name).is_some_and(|v| !v.is_empty() && v != b"0")
}

/// Kernel AIO slots per queue: a fair share of what `fs.aio-max-nr` leaves, so that even a
/// 256-CPU machine does not exhaust the system-wide budget (other programs need some too).
fn kaio_budget(queues: usize) -> u32 {
    let max = sys::read_number(c"/proc/sys/fs/aio-max-nr").unwrap_or(65536);
    let used = sys::read_number(c"/proc/sys/fs/aio-nr").unwrap_or(0);
    let share = max.saturating_sub(used) / 4 / queues as u64;
    share.clamp(16, 1024) as u32
}

pub(crate) struct Engine {
    /// The generation (see `EPOCH`).
    pub(crate) epoch: u64,
    pub(crate) config: Config,
    queues: Box<[OnceCell<Queue>]>,
    pub(crate) fds: FdTable,
    /// The stats file (`AIO_RS_STATS`), else None.
    pub(crate) stats: Option<StatsFile>,
    /// Bumped after every completion; waiters sleep on it.
    pub(crate) done: EventCount,
    /// Requests parked on some fd: while non-zero every helper watches.
    force_watch: AtomicU32,
    /// Bumped whenever a request a waiter may sleep for in a kernel source ends up elsewhere (see
    /// `Engine::moved`).
    moves: AtomicU32,
    /// The home queue of the next thread that asks (see `home`).
    next_home: AtomicU32,
    /// `aio_cancel(fd, NULL)` calls that ask io_uring to cancel by descriptor: bumped when one
    /// starts and again when it is done (see `Engine::fd_cancel_since`).
    fd_cancel_gen: AtomicU32,
    /// Such calls under way.
    fd_cancel_active: AtomicU32,
}

thread_local! {
    /// The calling thread's home queue: ((engine epoch << 16) | (queue index + 1), the queue once
    /// started, else NULL); (0, NULL): none yet (see `Engine::home`).
    static HOME: core::cell::Cell<(u64, *const Queue)> = const { core::cell::Cell::new((0, ptr::null())) };
}

static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(ptr::null_mut());
/// Serialises the start of the engine and of its helpers; held across `fork` (see `fork`).
pub(crate) static INIT: Lock<()> = Lock::new(());
/// Generation of the engine; a forked child starts a new one, so tags written by the parent's
/// engine never look in flight to the child's.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// The engine if it was started (async-signal-safe; never starts it).
pub(crate) fn get() -> Option<&'static Engine> {
    let p = ENGINE.load(Acquire);
    // SAFETY: once published, an engine is never freed (a forked child leaks its parent's).
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The engine, started on first use: this is the first moment aio-rs allocates or starts
/// anything.
pub(crate) fn start() -> &'static Engine {
    if let Some(e) = get() {
        return e;
    }
    let _g = INIT.lock();
    if let Some(e) = get() {
        return e;
    }
    let e: &'static Engine = Box::leak(Box::new(Engine::new()));
    ENGINE.store(e as *const Engine as *mut Engine, Release);
    if e.config.queue.verbose {
        let mode = match e.config.queue.forced {
            None => "Auto",
            Some(Backend::Uring) => "Uring",
            Some(Backend::Kaio) => "Kaio",
            Some(Backend::Threads) => "Threads",
        };
        sys::log_line(format_args!(
            "version {} active, backend mode {mode}, {} queues",
            env!("CARGO_PKG_VERSION"),
            e.queues.len()
        ));
    }
    if e.stats.is_some() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| sys::at_exit(report));
    }
    e
}

/// Forgets the engine in a forked child and starts a new generation; returns the parent's
/// engine, if there was one (leaked: the child only closes what it inherited from it).
pub(crate) fn forget_in_child() -> Option<&'static Engine> {
    let old = ENGINE.swap(ptr::null_mut(), AcqRel);
    EPOCH.fetch_add(1, AcqRel);
    // SAFETY: the parent's engine is never freed, so the pointer stays valid.
    (!old.is_null()).then(|| unsafe { &*old })
}

/// The exit handler of `AIO_RS_STATS` (see `stats`), called by C's exit machinery: nothing may
/// unwind out of it. A fork child's engine is its own: it reports only what it did itself.
extern "C" fn report() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(eng) = get() {
            if let Some(s) = &eng.stats {
                s.at_exit(eng.config.stats_file.as_deref());
            }
        }
    });
}

impl Engine {
    fn new() -> Engine {
        // A request names its queue in a few bits of its meta word.
        const QUEUES_MAX: usize = 64;
        const _: () = assert!(QUEUES_MAX <= MAX_QUEUES);
        let cpus = sys::cpus_configured().min(QUEUES_MAX);
        let config = Config::from_env(cpus);
        let stats = config.stats_on.then(|| {
            let backend = config.queue.forced.map_or(0, |b| b as u64);
            StatsFile::create(config.stats_dir.as_deref(), cpus, backend)
        });
        Engine {
            epoch: EPOCH.load(Relaxed),
            config,
            stats: stats.flatten(),
            queues: (0..cpus).map(|_| OnceCell::new()).collect(),
            fds: FdTable::new(),
            done: EventCount::new(),
            force_watch: AtomicU32::new(0),
            moves: AtomicU32::new(0),
            next_home: AtomicU32::new(0),
            fd_cancel_gen: AtomicU32::new(0),
            fd_cancel_active: AtomicU32::new(0),
        }
    }

    /// An already-started queue (async-signal-safe).
    pub(crate) fn queue(&self, i: usize) -> &Queue {
        self.queues[i].get().expect("queue used before it was started")
    }

    pub(crate) fn queue_if_started(&self, i: usize) -> Option<&Queue> {
        self.queues.get(i).and_then(|c| c.get())
    }

    /// The queues started so far, in order.
    pub(crate) fn started_queues(&self) -> impl Iterator<Item = &Queue> {
        self.queues.iter().filter_map(|c| c.get())
    }

    /// The calling thread's home queue, started on first use.
    ///
    /// There is one queue per CPU, and each thread is given one of them, in turn, at its first
    /// request in this engine. Keeping a thread on one queue means everything it waits for is
    /// in one ring (or one AIO context), so it can sleep there and reap its own completions;
    /// choosing by the current CPU instead spread a migrating thread's requests over several
    /// queues, and two threads started on one CPU shared one (the benchmark showed two threads
    /// at half the speed of one).
    ///
    /// The queue itself, once started, is remembered with the engine's generation in the same
    /// thread-local word, so every later call finds it with one thread-local read and one
    /// comparison (a fork child's engine has another generation: its threads choose again).
    #[inline(always)]
    pub(crate) fn home(&'static self) -> Result<&'static Queue, Errno> {
        let (tag, q) = HOME.with(|h| h.get());
        if tag >> 16 == self.epoch && !q.is_null() {
            // SAFETY: `q` was stored by `home_slow` from this engine (same generation), whose
            // queues are never freed or moved (started in place in the boxed slice, the engine
            // leaked).
            return Ok(unsafe { &*q });
        }
        self.home_slow()
    }

    #[cold]
    #[inline(never)]
    fn home_slow(&'static self) -> Result<&'static Queue, Errno> {
        let (home, _) = HOME.with(|h| h.get());
        let i = if home >> 16 == self.epoch && home != 0 {
            (home & 0xffff) as usize - 1
        } else {
            let i = self.next_home.fetch_add(1, Relaxed) as usize % self.queues.len();
            HOME.with(|h| h.set((self.epoch << 16 | (i as u64 + 1), ptr::null())));
            i
        };
        let q = self.queues[i].get_or_try_init(|| {
            let _no_cancel = sys::NoCancel::new();
            Queue::start(&self.config.queue, i, self.stats.as_ref().map(|s| s.row(i)))
        })?;
        HOME.with(|h| h.set((self.epoch << 16 | (i as u64 + 1), q as *const Queue)));
        Ok(q)
    }

    /// The mark a request records when it is submitted (`Req::set_cancel_mark`), to ask
    /// [`Engine::fd_cancel_since`] later.
    pub(crate) fn fd_cancel_mark(&self) -> u32 {
        self.fd_cancel_gen.load(SeqCst)
    }

    /// An `aio_cancel(fd, NULL)` starts asking io_uring to cancel by descriptor.
    pub(crate) fn fd_cancel_begin(&self) {
        self.fd_cancel_active.fetch_add(1, SeqCst);
        self.fd_cancel_gen.fetch_add(1, SeqCst);
    }

    /// That `aio_cancel` is done.
    pub(crate) fn fd_cancel_end(&self) {
        self.fd_cancel_gen.fetch_add(1, SeqCst);
        self.fd_cancel_active.fetch_sub(1, SeqCst);
    }

    /// Whether an `aio_cancel(fd, NULL)` was under way at some moment since a request recorded
    /// `mark`, so that it may be what made io_uring cancel the request (io_uring matches the open
    /// file, so it also cancels requests submitted on another number of that file, and the
    /// cancelled request's completion may arrive after the call returned).
    ///
    /// Argument (all SeqCst, one total order): let C be a call under way at some moment between
    /// the mark's load and now. If C began after the load, its first bump of `fd_cancel_gen` came
    /// after it and the generation differs from the mark now. If C began before the load and is
    /// still under way, `fd_cancel_active` is non-zero now. If C began before the load and ended
    /// after it, its second bump came after the load. (The generation wraps after 2^32 calls
    /// between a submission and its completion; not a practical concern.)
    pub(crate) fn fd_cancel_since(&self, mark: u32) -> bool {
        self.fd_cancel_active.load(SeqCst) != 0 || self.fd_cancel_gen.load(SeqCst) != mark
    }

    /// One more request parked on an fd: every helper watches while any is.
    pub(crate) fn force_watch_inc(&self) {
        if self.force_watch.fetch_add(1, SeqCst) == 0 {
            for q in self.started_queues() {
                q.wake();
            }
        }
    }

    pub(crate) fn force_watch_dec(&self) {
        self.force_watch.fetch_sub(1, SeqCst);
    }

    /// A request that a waiter may have seen issued to a kernel source (or, for a parked fsync,
    /// bound for one) now completes elsewhere: it fell back to the workers, or was cancelled. The
    /// caller has recorded that in the request and then wakes the source (`Queue::wake_source`).
    /// A waiter reads [`Engine::moves`] before it looks at its requests and again once it holds the
    /// source's reap lock, and sleeps there only if nothing moved meanwhile: a wake-up reaped by
    /// the lock's previous holder is then not needed.
    pub(crate) fn moved(&self) {
        self.moves.fetch_add(1, SeqCst);
    }

    /// See [`Engine::moved`].
    pub(crate) fn moves(&self) -> u32 {
        self.moves.load(SeqCst)
    }

    /// Whether requests are parked on some fd (every helper watches).
    pub(crate) fn force_watching(&self) -> bool {
        self.force_watch.load(SeqCst) != 0
    }
}
