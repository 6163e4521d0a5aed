//! Submission: accepting one request on the caller's thread. [`accept`] classifies the fd,
//! chooses the backend ([`route`]), records the request's state in its aiocb, and either adds it
//! to the caller's batch (the fast path: no ordering needed, no barrier pending on the fd) or
//! hands it to the fd's ordering state machine.
//!
//! There is no global lock on this path: each queue has its own locks, and the per-fd count is
//! one atomic.

use core::ffi::c_int;
use core::ptr;

use super::batch::Batch;
use super::core::get;
use super::core::Engine;
use super::deferred;
use super::fd;
use super::fd::table::{kind, FdEntry};
use super::group::Group;
use super::inline;
use super::queue::Queue;
use super::request::{free_job, new_job, Backend, Meta, Op, Req, ReqPtr};
use crate::errno::Errno;
use crate::notify::cq::QueueRef;
use crate::notify::{self, Notify, ThreadJob};
use crate::sys::{self, FileId, Held};

mod early;
pub(crate) use early::accept_failed;
use early::{accept_bad_args, accept_done, bad_fd};

/// Chooses the backend for a request on an fd of class `k` (`fd::table::kind` bits), given the
/// backend `AIO_RS_BACKEND` forces (if any), whether the queue has a ring (only when io_uring is
/// forced: see `Queue::start`), and a way to start (or find) the queue's kernel AIO context.
///
/// O_DIRECT files and block devices go to kernel AIO unless io_uring or the workers are forced:
/// on the reference machine it is the faster of the two for them (the benchmark's per-engine
/// figures are in the README), and its completions signal an eventfd, never the submitting
/// thread. Only if the class was checked, though: a lone request on an idle fd whose class came
/// from the cache unchecked (only with a ring) goes to io_uring. Everything else goes to the
/// workers, or to io_uring when it is forced and the queue has a ring. (The default has no ring:
/// whatever io_uring completes asynchronously interrupts the system calls of the thread that
/// submitted it, see `uring::may_submit`, and handed to a helper thread to submit, a request costs
/// one more thread wake-up than on the workers.)
///
/// Anonymous inodes (eventfd, timerfd, signalfd, inotify, epoll, pidfd, ...) always go to the
/// workers, whatever is forced: io_uring leaves a read of an epoll or pidfd descriptor pending
/// forever (measured on Linux 6.18; `read` answers EINVAL), while a worker's first attempt
/// (`preadv2` without waiting) gets the answer `read` gives, and then polls as for any stream.
pub(crate) fn route(k: u32, forced: Option<Backend>, has_ring: bool, kaio: impl FnOnce() -> bool) -> Backend {
    // (An anonymous inode is never DIRECT.)
    let checked_direct = k & (kind::DIRECT | kind::UNCHECKED) == kind::DIRECT;
    if checked_direct && matches!(forced, None | Some(Backend::Kaio)) && kaio() {
        return Backend::Kaio;
    }
    if has_ring && k & kind::ANON == 0 {
        return Backend::Uring;
    }
    Backend::Threads
}

/// Accepts one request: checks, records its state in the aiocb, and issues it into `batch` (or
/// parks it on its fd). `file_pos`: at the file position rather than `aio_offset`
/// (`AIO_OP2_FOFFSET`). `group` is its lio group or NULL. On error nothing was recorded and the
/// aiocb is untouched.
///
/// What glibc would learn only from the kernel is not an error here: a read or write with a
/// negative offset (EINVAL, before the descriptor is looked at, as `pread` does; not for a
/// request at the file position, which has no offset), on a bad descriptor (EBADF), or longer
/// than `SSIZE_MAX` bytes (EFAULT) is accepted and completes at once with that error
/// ([`accept_failed`]), which `aio_error` and its notification report. Only an `aio_fsync` on a
/// bad descriptor fails here with EBADF (glibc checks it with `fcntl`).
///
/// A page-cache hit is read here, on the caller's thread (see `inline`), first by the class the
/// number had when it was last classified, without classifying it again: the attempt checks what
/// it needs itself (`F_GETFL`, and the read's own answer). A number never classified is
/// classified first, and tried then ([`accept_engine`]).
///
/// # Safety
/// `r` points to a live aiocb that the caller will not modify or free until it completes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn accept<'e>(
    eng: &'e Engine,
    q: &Queue,
    r: ReqPtr,
    op: Op,
    file_pos: bool,
    notify: &Notify,
    group: *const Group,
    batch: &mut Batch<'e>,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live; we only read it until it is accepted.
    let req = unsafe { r.get() };
    if req.in_flight(eng.epoch) && req.status() == libc::EINPROGRESS {
        return Err(Errno::EINVAL);
    }
    let (done, tried) = read_here(eng, &req, op, file_pos);
    if let Some(n) = done {
        // SAFETY: as this function (the caller's contract).
        return unsafe { accept_done(eng, q, r, notify, group, n) };
    }
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_engine(eng, q, r, op, file_pos, notify, group, batch, tried) }
}

/// The page-cache attempt of [`accept`], by the number's last class (see there): the result if
/// the read was served, and whether it was tried. A negative offset or length is not tried (left
/// to [`accept_engine`], which fails it).
#[inline(always)]
fn read_here(eng: &Engine, req: &Req<'_>, op: Op, file_pos: bool) -> (Option<isize>, bool) {
    match page_cache_entry(eng, req, op, file_pos) {
        Some(fe) => (inline::try_read(fe, req.fd(), op, req), true),
        None => (None, false),
    }
}

/// The entry of a request's number if the request may be served from the page cache on the
/// caller's thread, by the number's last class: an explicit offset, no forced engine, a
/// non-negative offset and length (else left to [`accept_engine`], which fails it), and a class
/// `inline::eligible` takes.
#[inline(always)]
fn page_cache_entry<'e>(eng: &'e Engine, req: &Req<'_>, op: Op, file_pos: bool) -> Option<&'e FdEntry> {
    if file_pos || eng.config.queue.forced.is_some() || (req.offset() | req.nbytes() as i64) < 0 {
        return None;
    }
    eng.fds.get(req.fd()).filter(|fe| inline::eligible(op, fe.class_hint(), None))
}

/// What [`serve_here`] did.
pub(crate) enum Here<'e> {
    /// The read was served and its result published.
    Done,
    /// It goes to an engine: [`accept_engine`], with whether it was tried here.
    Engine { tried: bool },
    /// The aiocb is in flight: [`accept`] refuses it.
    InFlight,
    /// It follows a read on another aiocb on its number (entry `fe`): deferred into a batch
    /// (`deferred::defer`), not tried here.
    Defer(&'e FdEntry),
}

/// `aio_read`'s page-cache attempt before anything else (the home queue, its helper): a request
/// with nothing to notify and no group, in an engine without stats, that is served here needs
/// none of them. What [`accept`] followed by [`accept_done`] would do for it, without a queue
/// (the meta word names queue 0; nobody reads the meta of a request that is not in flight).
///
/// # Safety
/// As [`accept`].
#[inline(always)]
pub(crate) unsafe fn serve_here(eng: &Engine, r: ReqPtr, op: Op, file_pos: bool) -> Here<'_> {
    // SAFETY: the caller guarantees the aiocb is live; only read until it is served.
    let req = unsafe { r.get() };
    if req.in_flight(eng.epoch) && req.status() == libc::EINPROGRESS {
        return Here::InFlight;
    }
    // `read_here`, with the choice to defer it first.
    let Some(fe) = page_cache_entry(eng, &req, op, file_pos) else { return Here::Engine { tried: false } };
    if deferred::wants(fe, r) {
        return Here::Defer(fe);
    }
    match inline::try_read(fe, req.fd(), op, &req) {
        Some(n) => {
            req.done_at_once(Meta::new(0, Backend::Threads, Op::Read), n);
            eng.done.notify_all();
            Here::Done
        }
        None => Here::Engine { tried: true },
    }
}

/// [`accept`] of a request not served on the caller's thread (`tried`: already attempted there
/// by the number's last class).
///
/// # Safety
/// As [`accept`], and the aiocb is not in flight.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) unsafe fn accept_engine<'e>(
    eng: &'e Engine,
    q: &Queue,
    r: ReqPtr,
    op: Op,
    file_pos: bool,
    notify: &Notify,
    group: *const Group,
    batch: &mut Batch<'e>,
    tried: bool,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live; we only read it until it is accepted.
    let req = unsafe { r.get() };
    let sync = op.is_sync();
    let fdn = req.fd();
    // aio_fsync reads nothing but aio_fildes and aio_sigevent. A read or write with a negative
    // offset or of more than SSIZE_MAX bytes (either sets the sign bit) fails at once (cold). A
    // request at the file position has no offset; a vector's aio_nbytes is its count of entries,
    // at most IOV_MAX (the intake saw to it).
    let off = if file_pos { 0 } else { req.offset() };
    if !sync && (off | req.nbytes() as i64) < 0 {
        // SAFETY: as this function (the caller's contract).
        return unsafe { accept_bad_args(eng, q, r, off, notify, group) };
    }
    let fe = match eng.fds.entry(fdn) {
        Ok(fe) => fe,
        // SAFETY: as this function (the caller's contract).
        Err(e) => return unsafe { bad_fd(eng, q, r, op, notify, group, e) },
    };
    let cfg = &eng.config.queue;
    // A request at the file position needs a checked class (see `at_file_pos`).
    let has_ring = q.live_ring().is_some();
    let (k, changed, id) = match fe.classify(fdn, has_ring && !file_pos, sync || req.offset() == 0) {
        Ok(c) => c,
        // SAFETY: as this function (the caller's contract).
        Err(e) => return unsafe { bad_fd(eng, q, r, op, notify, group, e) },
    };
    if !tried && !file_pos && !changed && inline::eligible(op, k, cfg.forced) {
        if let Some(n) = inline::try_read(fe, fdn, op, &req) {
            // SAFETY: as this function (the caller's contract).
            return unsafe { accept_done(eng, q, r, notify, group, n) };
        }
    }
    let stream = k & kind::STREAM != 0;
    let (mut backend, file_pos) = if file_pos {
        // On a stream there is no position: the flag changes nothing there.
        let file_pos = !stream && !sync;
        (at_file_pos(k, file_pos, || route(k, cfg.forced, has_ring, || q.kaio_start(cfg).is_some())), file_pos)
    } else {
        (route(k, cfg.forced, has_ring, || q.kaio_start(cfg).is_some()), false)
    };
    // An fsync goes to the workers rather than to io_uring, whatever is forced: io_uring runs an
    // fsync only in one of its own kernel workers, which looks the descriptor up by number when it
    // gets to it, so a duplicate we hold that `closefrom` took meanwhile would be another file's
    // by then (a pipe answers EINVAL; a file is synced in its place). A worker checks the
    // duplicate (`sys::held_ok`) right before its `fsync`. Both run it on a thread; io_uring only
    // if no worker can be started (`hold_for`).
    let fsync_to_workers = sync && backend == Backend::Uring;
    if fsync_to_workers {
        backend = Backend::Threads;
    }
    // An O_DIRECT write that extends its file or is not block-aligned runs synchronously inside
    // `io_submit` on ext4 and XFS: it goes to the workers. Never to a path that blocks the caller.
    let blocks = |(len, align)| fe.direct_write_may_block(fdn, off, len, align);
    if backend == Backend::Kaio && op.is_write() && !file_pos && blocks(req.extent(op)) {
        backend = Backend::Threads;
    }
    // Requests at the file position run one at a time on their fd, in submission order, as
    // consecutive read(2)/write(2) calls would (reads and writes in one chain: both move it).
    let ordered = !sync && (stream || file_pos || (op.is_write() && k & kind::APPEND != 0));
    // Completions someone must act on without anyone waiting: a notification (of the request,
    // or of its lio group), and a stream write larger than PIPE_BUF (io_uring may take it in
    // parts; the rest must then be issued; a vector counts as large, its length is not read
    // here). Requests parked on an fd (an fsync waiting for its predecessors, which may be
    // earlier fsyncs) make every helper watch meanwhile (see `fd`).
    let partial = stream && op.is_write() && (op.is_vector() || req.nbytes() > libc::PIPE_BUF);
    // SAFETY: a non-NULL group is live while its submitter adds members.
    let group_notifies = !group.is_null() && unsafe { (*group).notifies() };
    // A request that may be issued after its caller has returned from this call must hold its
    // caller's open file from now on until it completes, since by then the number may name
    // another file (the rule: nothing is issued by its number except inside the call that
    // submitted it). So:
    //
    // * the workers run it later (and a worker must exist);
    // * an fsync (it goes to the workers, see above; if io_uring runs it, one of its workers looks
    //   the number up only when it gets to it);
    // * every request for io_uring: only the queue's helper thread submits to a ring
    //   (`uring::may_submit`), after this call has returned.
    // * a request that parks on its fd is made to hold it by the ordering state machine.
    //
    // What goes to the kernel inside this call (kernel AIO's fast path, or issued at once by the
    // ordering state machine) holds nothing: `io_submit` takes its own reference to the file as
    // it consumes it. What the kernel does not take then falls back to the workers, holding the
    // file made here, still inside the call (`Batch::issue`). A number closed since it was
    // classified is EBADF here: the request's result for a read or write (glibc's convention, see
    // above), the call's error for aio_fsync.
    let may_issue_late = backend == Backend::Uring;
    // A new stream read or write for the workers is first tried on this thread (`threads::first`),
    // and holds its file only if it must wait then: `Batch::hold_here` (or the fd's ordering
    // state) makes the duplicate, still inside this call. A write that goes at once makes none.
    let hold_later = backend == Backend::Threads && stream && !sync;
    let held = if hold_later {
        worker_for(q)?;
        None
    } else if backend == Backend::Threads || may_issue_late {
        match hold_for(fe, fdn, id, q, backend) {
            Ok(h) => Some(h),
            // No worker to be had for an fsync meant for io_uring: io_uring runs it after all.
            Err(e) if fsync_to_workers && e != Errno::EBADF => {
                backend = Backend::Uring;
                Some(hold_for(fe, fdn, id, q, backend)?)
            }
            // SAFETY: as this function (the caller's contract).
            Err(Errno::EBADF) if !sync => return unsafe { accept_failed(eng, q, r, notify, group, Errno::EBADF) },
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let (job, queued, notify_watch) = match notify_parts(q, r, notify, backend) {
        Ok(p) => p,
        Err(e) => return Err(refused(fe, held, e)),
    };
    let watched = notify_watch || group_notifies || partial;
    let m = Meta::new(q.idx, backend, op)
        .with_ordered(ordered)
        .with_barrier(sync)
        .with_stream(stream)
        .with_file_pos(file_pos)
        .with_queued(queued)
        .with_watched(watched);
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if !stream {
        // Tells a cancellation by `aio_cancel(fd, NULL)` from one by a thread's exit, should
        // io_uring cancel the request (`complete::handle`).
        req.set_cancel_mark(eng.fd_cancel_mark());
    }
    if let Some(h) = held {
        req.set_held(h);
    }
    if watched {
        q.watch_inc();
    }
    let fast = if !ordered && !sync && !changed { fe.order.try_fast() } else { None };
    if let Some(g) = fast {
        req.set_meta(m.with_counted(g));
        // SAFETY: accepted just now, ours, in no list.
        unsafe { batch.push(r) };
    // SAFETY: accepted just now, ours, not counted, in no list.
    } else if !unsafe { fd::submit(eng, fe, r, changed, batch) } {
        // It had to wait on its fd and no descriptor could be had to hold its file with, or
        // another thread closed the number since it was classified: for a read or write that is
        // the request's result (EBADF, as above; aio_fsync's error).
        undo(fe, q, r, m, job);
        if sys::is_open(fdn) {
            return Err(Errno::EAGAIN);
        }
        if sync {
            return Err(Errno::EBADF);
        }
        // SAFETY: as this function (the caller's contract); `undo` took the request back.
        return unsafe { accept_failed(eng, q, r, notify, group, Errno::EBADF) };
    }
    if let Some(s) = q.stats {
        s.submitted();
    }
    Ok(())
}

/// What request `r`'s notification needs, going to `backend` on `q`: the value of its job slot (a
/// SIGEV_THREAD job block, its completion queue entry, or NULL), whether it is a completion
/// queue's (`Meta::queued`), and whether a helper must watch for its completion. EAGAIN if the
/// notifier thread cannot be started, EBADF if its completion queue was closed meanwhile.
///
/// For a completion queue, the kernel source the request goes to is put in the queue's epoll
/// set (then the kernel wakes a program asleep on the queue itself; if that cannot be done, a
/// helper must watch). Every other notification is sent by whoever finishes the request, so
/// someone must reap it. The last step of an acceptance that can fail.
#[inline(always)]
fn notify_parts(
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    backend: Backend,
) -> Result<(*mut ThreadJob, bool, bool), Errno> {
    Ok(match notify {
        Notify::None => (ptr::null_mut(), false, false),
        Notify::Thread { .. } => {
            notify::ensure_started()?;
            (new_job(), false, true)
        }
        Notify::Queue { q: cq, .. } => {
            let attached = attach(q, cq, backend);
            (cq.reserve(r.as_ptr(), q.idx)?.cast(), true, !attached)
        }
        _ => (ptr::null_mut(), false, true),
    })
}

/// Makes a request that must hold its file (see `accept`) do so, and, for the workers, makes sure
/// the queue's pool has a worker. `id`: the file's identity if the classification read it just
/// now. Out of line: the fast path holds nothing.
#[cold]
#[inline(never)]
fn hold_for(fe: &FdEntry, fdn: c_int, id: Option<FileId>, q: &Queue, backend: Backend) -> Result<Held, Errno> {
    let h = fe.hold_known(fdn, id)?;
    if backend == Backend::Threads {
        if let Err(err) = worker_for(q) {
            fe.release_hold(h, false);
            return Err(err);
        }
    }
    Ok(h)
}

/// Makes sure queue `q`'s pool has a worker, for a request that goes to the workers. Asks the
/// pool first, before looking the engine up again for the `'static` queue a start needs.
fn worker_for(q: &Queue) -> Result<(), Errno> {
    if q.pool.has_worker() {
        return Ok(());
    }
    get().map_or(Ok(()), |e| {
        let q = e.queue(q.idx);
        q.pool.ensure_worker(q.host(e))
    })
}

/// Gives back the file a request held when its notification refused it (`e`, returned).
#[cold]
#[inline(never)]
fn refused(fe: &FdEntry, held: Option<Held>, e: Errno) -> Errno {
    if let Some(h) = held {
        fe.release_hold(h, false);
    }
    e
}

/// Takes back a new stream request its batch refused (`Batch::take_refused`: its first attempt
/// moved nothing and no descriptor could be had to hold its file), as if never accepted: its fd's
/// count, watch and notification parts. The caller fails its submission with EAGAIN.
///
/// # Safety
/// `r` was accepted by the caller's call and refused by its batch: live, ours, in no list.
#[cold]
#[inline(never)]
pub(crate) unsafe fn take_back(eng: &Engine, r: ReqPtr) {
    // SAFETY: the caller's contract.
    let req = unsafe { r.get() };
    let (m, fdn) = (req.meta(), req.fd());
    let q = eng.queue(m.queue());
    if let Some(fe) = eng.fds.get(fdn) {
        if m.counted() {
            fd::completed(eng, m.queue(), fe, m, true);
        }
        undo(fe, q, r, m, req.job());
    }
    if let Some(s) = q.stats {
        s.withdrawn();
    }
}

/// Takes back a request that was started (with meta `m` and job slot `job`) but then refused:
/// its held file, its watch, its SIGEV_THREAD job block or its completion queue entry.
#[cold]
#[inline(never)]
fn undo(fe: &FdEntry, q: &Queue, r: ReqPtr, m: Meta, job: *mut ThreadJob) {
    // SAFETY: the request was refused: neither parked nor issued, so still ours alone.
    let req = unsafe { r.get() };
    if let Some(h) = req.take_held() {
        fe.release_hold(h, false);
    }
    if m.watched() {
        q.watch_dec();
    }
    if m.queued() {
        // SAFETY: reserved by `notify_parts` for this request and never handed to its queue.
        unsafe { notify::cq::unreserve(job.cast()) };
    } else if !job.is_null() {
        // SAFETY: made by new_job above and never handed to the notifier.
        unsafe { free_job(job) };
    }
    req.refuse(libc::EAGAIN);
}

/// The backend of a request at the file position (`file_pos`: it has one, not being a stream):
/// kernel AIO has no such thing, and io_uring does not advance the position when an O_DIRECT
/// transfer completes asynchronously (Linux 6.18), so O_DIRECT ones go to the workers (`preadv2`
/// at -1 is exactly `read`); buffered ones may use the ring (`route`).
#[cold]
fn at_file_pos(k: u32, file_pos: bool, route: impl FnOnce() -> Backend) -> Backend {
    if file_pos && k & kind::DIRECT != 0 {
        Backend::Threads
    } else {
        route()
    }
}

/// Puts the kernel source a request of completion queue `cq` goes to (on queue `q`, through
/// `backend`) into the queue's epoll set, so that the kernel wakes a program asleep on the queue
/// itself (see `notify::cq`); the workers finish their requests themselves. The source's
/// descriptor is checked to be still ours when it is registered (once per queue, source and
/// generation: a kernel AIO eventfd made again is registered again).
/// False if that could not be done: then the request must be watched (a helper reaps it and
/// signals the queue).
#[cold]
pub(crate) fn attach(q: &Queue, cq: &QueueRef, backend: Backend) -> bool {
    match backend {
        // A ring is never made again: generation 1 (a dead one is not attached: no live ring).
        Backend::Uring => cq.attach(q.idx, 0, 1, || q.live_ring().and_then(|r| r.checked_fd())),
        // The kernel AIO eventfd is made again when the program took its number: its generation
        // first, then its number (see `sys::OwnEventFd::generation`).
        Backend::Kaio => cq.attach(q.idx, 1, q.kaio_fd.generation(), || q.kaio_fd.current()),
        Backend::Threads => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fd::table::class_of;

    #[test]
    fn routing() {
        let buffered = class_of(libc::S_IFREG, libc::O_RDWR);
        let direct = class_of(libc::S_IFREG, libc::O_RDWR | libc::O_DIRECT);
        let direct_blk = class_of(libc::S_IFBLK, libc::O_DIRECT);
        let pipe = class_of(libc::S_IFIFO, libc::O_DIRECT);
        let yes = || true;
        let no = || false;
        // Default (no ring): checked O_DIRECT to kernel AIO, everything else to the workers.
        assert_eq!(route(direct, None, false, yes), Backend::Kaio);
        assert_eq!(route(direct_blk, None, false, yes), Backend::Kaio);
        assert_eq!(route(buffered, None, false, yes), Backend::Threads);
        assert_eq!(route(pipe, None, false, yes), Backend::Threads, "O_DIRECT on a pipe is no direct file");
        // No kernel AIO context to be had: the workers.
        assert_eq!(route(direct, None, false, no), Backend::Threads);
        // io_uring forced, with a ring: everything but anonymous inodes; an unchecked class never
        // goes to kernel AIO (a stale class could make io_submit block).
        assert_eq!(route(buffered, Some(Backend::Uring), true, || panic!("kaio must not start")), Backend::Uring);
        assert_eq!(route(pipe, Some(Backend::Uring), true, no), Backend::Uring);
        assert_eq!(route(direct | kind::UNCHECKED, Some(Backend::Uring), true, no), Backend::Uring);
        // io_uring forced but no ring to be had (forbidden): the workers.
        assert_eq!(route(buffered, Some(Backend::Uring), false, no), Backend::Threads);
        // Forced backends.
        assert_eq!(route(direct, Some(Backend::Uring), true, || panic!("kaio must not start")), Backend::Uring);
        assert_eq!(route(direct, Some(Backend::Threads), false, || panic!("kaio must not start")), Backend::Threads);
        assert_eq!(route(direct, Some(Backend::Kaio), false, yes), Backend::Kaio);
        assert_eq!(route(buffered, Some(Backend::Kaio), false, yes), Backend::Threads);
        // Anonymous inodes: the workers, whatever is forced (io_uring would leave an epoll or
        // pidfd read pending forever).
        let anon = class_of(0, libc::O_RDWR);
        assert_eq!(route(anon, None, true, || panic!("kaio must not start")), Backend::Threads);
        assert_eq!(route(anon, Some(Backend::Uring), true, no), Backend::Threads);
    }
}
