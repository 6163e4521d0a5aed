//! The engine: per-CPU queues, routing, submission, completion and waiting. See
//! `docs/ARCHITECTURE.md` for how a request flows. This file is the engine's entry: the six calls
//! `crate::posix` makes (submit, submit_list, status, wait, cancel, configure), each a thin step
//! into the module that does the work.
//!
//! # Dependency rule
//!
//! Modules form layers, and a module imports only from layers below its own (never from its own
//! layer or above); `tests/architecture.rs` checks this on every `use` and path in `src/`:
//!
//! ```text
//! posix                                   the C entry points
//!  → engine (this file)                   entry: the six calls
//!  → cancel, lio, helper, fork, cq        what only the entry (or a thread start) calls
//!  → submit, wait                         accept a request / wait for requests
//!  → complete                             where completions arrive; finish
//!  → fd                                   the ordering state machine driven by the engine
//!  → batch, group                         issue in batches / lio groups
//!  → core                                 the Engine: queues, fd table, config, start
//!  → queue, inline                        one queue: its backends, its helper's hand-offs;
//!                                         page-cache hits read on the caller's thread
//!  → fd::table                            per-fd class cache and ordering state
//!  → backend::{uring, kaio, threads},     the three backends (report `Completion`s up)
//!    fd::ordering, stats                  the pure ordering state machine, counters
//!  → request                              the aiocb as a request: typed state, lists
//!  → notify, sys, abi, errno              crate-wide: notification, the system layer
//! ```
//!
//! Upward calls are not imports: a backend hands completions up as `request::Completion`
//! values (to the reaper's callback, or to the `request::Completions` sink its workers were
//! started with), and the ordering state machine tells its caller what to do through the
//! `fd::ordering::Admit` trait.

mod backend;
mod batch;
mod cancel;
mod complete;
mod core;
mod cq;
mod deferred;
mod fd;
mod fork;
mod group;
mod helper;
mod inline;
mod lio;
mod queue;
mod request;
mod stats;
mod submit;
mod wait;

use ::core::ffi::c_int;
use ::core::sync::atomic::Ordering::Relaxed;
use ::core::time::Duration;

use self::batch::Batch;
use self::core::Engine;
pub(crate) use self::lio::ListEntry;
use self::queue::Queue;
pub(crate) use self::request::{Op, ReqPtr, IOV_MAX, STATUS as STATUS_OFFSET};
pub(crate) use self::wait::{Step, Wait};
use crate::abi::{Aiocb, AIO_ALLDONE};
use crate::errno::Errno;
use crate::notify::cq::{Completed, QueueRef};
use crate::notify::Notify;

/// The engine, started on first use (fork handlers first, so no child ever inherits an engine
/// without them).
#[inline(always)]
fn engine() -> &'static Engine {
    match self::core::get() {
        Some(e) => e,
        None => engine_start(),
    }
}

/// The first AIO call of the process (or of a fork child) starts the engine. Out of line: every
/// later call finds it with one load.
#[cold]
#[inline(never)]
fn engine_start() -> &'static Engine {
    // Starting runs other libraries' code (std, the io-uring crate), which may reach a glibc
    // cancellation point; none may act inside an AIO call that is not one.
    let _no_cancel = crate::sys::NoCancel::new();
    fork::register();
    self::core::start()
}

/// The calling thread's home queue, with its helper thread running.
#[inline(always)]
fn home(eng: &'static Engine) -> Result<&'static Queue, Errno> {
    let q = eng.home()?;
    helper::ensure(eng, q)?;
    q.refresh_fds();
    Ok(q)
}

/// `aio_read`, `aio_write`, `aio_fsync`: submits one request from the calling thread.
///
/// # Safety
/// `r` points to an aiocb the caller keeps valid, and does not modify, until it completes.
pub(crate) unsafe fn submit(r: ReqPtr, op: Op, notify: &Notify) -> Result<(), Errno> {
    // SAFETY: the caller's contract is submit_at's.
    unsafe { submit_at(r, op, false, notify) }
}

/// `aio_read2`, `aio_write2` (and `aio_readv`, `aio_writev`): submits one request from the
/// calling thread; `file_pos`: at the descriptor's file position (`AIO_OP2_FOFFSET`).
///
/// # Safety
/// As [`submit`]; for a vectored `op`, the iovec array and the memory it describes too.
pub(crate) unsafe fn submit_at(r: ReqPtr, op: Op, file_pos: bool, notify: &Notify) -> Result<(), Errno> {
    let eng = engine();
    let mut here = submit::Here::InFlight;
    if eng.stats.is_none() && notify.is_none() {
        // SAFETY: the caller keeps the aiocb valid and unmodified until it completes.
        here = unsafe { submit::serve_here(eng, r, op, file_pos) };
        if let submit::Here::Done = here {
            return Ok(());
        }
    }
    if let submit::Here::Defer(fe) = here {
        // A later read of the batch this thread's home queue has pending on its number: that
        // queue, without looking it up (see `deferred::burst_queue`), and its whole path here.
        if let Some((q, later)) = deferred::burst_queue(eng, fe) {
            // SAFETY: as above; `serve_here` found the aiocb not in flight.
            match unsafe { deferred::defer_later(eng, q, r, op, fe, later) } {
                Some(true) => return Ok(()),
                Some(false) => here = submit::Here::Engine { tried: false },
                // That batch was taken meanwhile: the first read of a batch (below).
                None => {}
            }
        }
    }
    // SAFETY: submit_rest's contract is this function's (the caller keeps the aiocb valid and
    // unmodified until it completes); `here` is what `serve_here` said of it, if asked.
    unsafe { submit_rest(eng, r, op, file_pos, notify, here) }
}

/// [`submit_at`] of a request that is not served on the caller's thread nor a later read of a
/// pending batch (`here`: what `serve_here` said, if asked). Out of line: `aio_read`'s common
/// paths (served at once, a later read of a batch) keep a small frame.
///
/// # Safety
/// As [`submit_at`].
#[inline(never)]
unsafe fn submit_rest(
    eng: &'static Engine,
    r: ReqPtr,
    op: Op,
    file_pos: bool,
    notify: &Notify,
    mut here: submit::Here<'_>,
) -> Result<(), Errno> {
    let q = home(eng)?;
    if let submit::Here::Defer(fe) = here {
        // SAFETY: the caller keeps the aiocb valid and unmodified until it completes, and
        // `serve_here` found it not in flight (`Defer`).
        if unsafe { deferred::defer(eng, q, r, op, fe) } {
            return Ok(());
        }
        here = submit::Here::Engine { tried: false };
    }
    // What this thread (or its queue's others) deferred is issued before anything it submits
    // otherwise (an aio_fsync covers it; a request with a notification is not held up behind it).
    deferred::flush(eng, q, true);
    let mut batch = Batch::submitting(eng);
    let group = ::core::ptr::null();
    if let submit::Here::Engine { tried } = here {
        // SAFETY: as above; `serve_here` found the aiocb not in flight.
        unsafe { submit::accept_engine(eng, q, r, op, file_pos, notify, group, &mut batch, tried) }?;
    } else {
        // SAFETY: as above.
        unsafe { submit::accept(eng, q, r, op, file_pos, notify, group, &mut batch) }?;
    }
    batch.flush();
    if let Some(r) = batch.take_refused().pop_front() {
        // SAFETY: accepted above and refused by the batch: ours, in no list.
        unsafe { submit::take_back(eng, r) };
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// `lio_listio`: submits `entries`, each checked by `intake`; with `wait`, returns the wait for
/// them all (its end gives the list's result).
///
/// # Safety
/// Every entry `intake` accepts points to an aiocb kept valid until it completes.
pub(crate) unsafe fn submit_list(
    entries: &[*mut Aiocb],
    wait: bool,
    notify: Notify,
    intake: impl Fn(*mut Aiocb) -> ListEntry,
) -> Result<Option<Wait<'static>>, Errno> {
    let eng = engine();
    let q = home(eng)?;
    deferred::flush(eng, q, true);
    // SAFETY: every entry the intake accepts is kept valid until it completes (caller).
    unsafe { lio::submit_list(eng, q, entries, wait, notify, intake) }
}

/// `aio_error`: the status of a request (reaping its queue once if it is still in progress).
/// Async-signal-safe.
///
/// # Safety
/// `r` points to a readable aiocb.
pub(crate) unsafe fn status(r: ReqPtr) -> c_int {
    // SAFETY: readable for the call (caller); only read, and reaped through its queue.
    wait::status(&unsafe { r.get() })
}

/// `aio_error`'s answer if the request's status is final (not EINPROGRESS): one atomic load,
/// nothing reaped. Async-signal-safe.
///
/// # Safety
/// `r` points to a readable aiocb.
#[inline(always)]
pub(crate) unsafe fn final_status(r: ReqPtr) -> Option<c_int> {
    // SAFETY: readable for the call (caller); only read.
    let e = unsafe { r.get() }.status();
    (e != libc::EINPROGRESS).then_some(e)
}

/// `aio_return`: the return value of a request, read after its status. Async-signal-safe.
///
/// # Safety
/// `r` points to a readable aiocb.
pub(crate) unsafe fn return_value(r: ReqPtr) -> isize {
    // SAFETY: readable for the call (caller); only read.
    let req = unsafe { r.get() };
    let _ = req.status();
    req.return_value()
}

/// `aio_suspend`: the wait until one of `entries` is done, the timeout passes, or a signal
/// handler runs (driven by the caller, see `wait::Wait`); `Ok(None)` when there is nothing to wait
/// for: a listed request is done, or none is listed, which is decided before `timeout` is read.
/// Async-signal-safe.
///
/// The common case, a listed request done already (every call of a loop that submits one request
/// and waits for it), is settled before this is called, in `aio_suspend`'s C frame
/// (`posix::frame`: the statuses at `STATUS_OFFSET`, as [`final_status`] reads them, with no call
/// into Rust and no frame set up), so the statuses are not looked at here first: `wait_any`
/// looks at them once while it builds its set of queues (and again after a first reap).
///
/// # Safety
/// Each non-NULL entry points to a readable aiocb, and the list stays readable, while the wait
/// lives.
pub(crate) unsafe fn wait(
    entries: &[*const Aiocb],
    timeout: impl FnOnce() -> Result<Option<Duration>, Errno>,
) -> Result<Option<Wait<'static>>, Errno> {
    // SAFETY: the list and its entries stay readable while the wait lives (caller).
    unsafe { wait::wait_any(entries, timeout) }
}

/// `aio_cancel`: cancels `r`, or every request on `fd` if `r` is None. Returns AIO_CANCELED,
/// AIO_NOTCANCELED or AIO_ALLDONE.
///
/// # Safety
/// `r` is None or points to a live aiocb.
pub(crate) unsafe fn cancel(fd: c_int, r: Option<ReqPtr>) -> c_int {
    let Some(eng) = self::core::get() else { return AIO_ALLDONE };
    // A deferred read is issued, not cancelled: it never waits in the kernel (page-cache hits
    // complete inside `io_submit`, a miss goes to the workers, where it may be cancelled).
    deferred::flush_all(eng);
    match r {
        None => cancel::cancel_fd(eng, fd),
        // SAFETY: the caller's aiocb is live for the call.
        Some(r) => unsafe { cancel::cancel_one(eng, r) },
    }
}

/// `aio_rs_cq_harvest`: up to `out.len()` completions of queue `q`, waiting up to `timeout`
/// (None: until one comes); 0 when the timeout passed. Async-signal-safe with a zero timeout.
pub(crate) fn harvest(q: QueueRef, out: &mut [Completed], timeout: Option<Duration>) -> Result<usize, Errno> {
    cq::harvest(q, out, timeout)
}

/// `aio_rs_cq_create`: a new completion queue, its descriptor. The fork handlers are registered
/// first: a queue's own descriptors are closed in a fork child only by them, and a program may
/// make a queue before its first request starts the engine (c-tests/fork_cq_churn.c).
pub(crate) fn cq_create() -> Result<c_int, Errno> {
    fork::register();
    crate::notify::cq::create()
}

/// `aio_waitcomplete`: the next completion of the aio_waitcomplete queue.
pub(crate) fn wait_complete(timeout: Option<Duration>) -> Result<Completed, Errno> {
    cq::wait_complete(timeout)
}

/// `aio_init`: the most worker threads, spread over the queues (effective only before the engine
/// starts).
pub(crate) fn configure(threads: u32) {
    self::core::CONF_WORKERS.store(threads, Relaxed);
}
