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
use super::complete::finish;
use super::core::get;
use super::core::Engine;
use super::fd;
use super::fd::table::{kind, FdEntry};
use super::group::Group;
use super::queue::Queue;
use super::request::{free_job, new_job, Backend, Meta, Op, ReqPtr};
use crate::errno::Errno;
use crate::notify::{self, Notify, ThreadJob};
use crate::sys::{self, Held};

/// Chooses the backend for a request on an fd of class `k` (`fd::table::kind` bits), given the
/// backend `AIO_RS_BACKEND` forces (if any), whether the queue has a ring, and a way to start
/// (or find) the queue's kernel AIO context.
///
/// O_DIRECT files and block devices go to kernel AIO unless io_uring or the workers are forced:
/// on the reference machine it is the faster of the two for them (the benchmark's per-engine
/// figures are in the README). Only if the class was checked, though: a lone request on an idle
/// fd whose class came from the cache unchecked goes to io_uring, which is safe whatever the fd
/// has become. Everything else goes to io_uring when the queue has a ring, else to the workers.
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
/// parks it on its fd). `group` is its lio group or NULL. On error nothing was recorded and the
/// aiocb is untouched.
///
/// What glibc would learn only from the kernel is not an error here: a read or write with a
/// negative offset (EINVAL, before the descriptor is looked at, as `pread` does), on a bad
/// descriptor (EBADF), or longer than `SSIZE_MAX` bytes (EFAULT) is accepted and completes at once
/// with that error ([`accept_failed`]), which `aio_error` and its notification report. Only an
/// `aio_fsync` on a bad descriptor fails here with EBADF (glibc checks it with `fcntl`).
///
/// # Safety
/// `r` points to a live aiocb that the caller will not modify or free until it completes.
pub(crate) unsafe fn accept<'e>(
    eng: &'e Engine,
    q: &Queue,
    r: ReqPtr,
    op: Op,
    notify: &Notify,
    group: *const Group,
    batch: &mut Batch<'e>,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live; we only read it until it is accepted.
    let req = unsafe { r.get() };
    if req.in_flight(eng.epoch) && req.status() == libc::EINPROGRESS {
        return Err(Errno::EINVAL);
    }
    let sync = op.is_sync();
    let fdn = req.fd();
    // aio_fsync reads nothing but aio_fildes and aio_sigevent. A read or write with a negative
    // offset or of more than SSIZE_MAX bytes (either sets the sign bit) fails at once (cold).
    if !sync && (req.offset() | req.nbytes() as i64) < 0 {
        // SAFETY: as this function (the caller's contract).
        return unsafe { accept_bad_args(eng, q, r, notify, group) };
    }
    let has_ring = q.live_ring().is_some();
    let fe = match eng.fds.entry(fdn) {
        Ok(fe) => fe,
        // SAFETY: as this function (the caller's contract).
        Err(e) => return unsafe { bad_fd(eng, q, r, op, notify, group, e) },
    };
    let (k, changed) = match fe.classify(fdn, has_ring, sync || req.offset() == 0) {
        Ok(c) => c,
        // SAFETY: as this function (the caller's contract).
        Err(e) => return unsafe { bad_fd(eng, q, r, op, notify, group, e) },
    };
    let stream = k & kind::STREAM != 0;
    let cfg = &eng.config.queue;
    let backend = route(k, cfg.forced, has_ring, || q.kaio_start(cfg).is_some());
    let ordered = !sync && (stream || (op == Op::Write && k & kind::APPEND != 0));
    // Completions someone must act on without anyone waiting: a notification (of the request,
    // or of its lio group), and a stream write larger than PIPE_BUF (io_uring may take it in
    // parts; the rest must then be issued). Requests parked on an fd (an fsync waiting for its
    // predecessors, which may be earlier fsyncs) make every helper watch meanwhile (see `fd`).
    let partial = stream && op == Op::Write && req.nbytes() > libc::PIPE_BUF;
    // SAFETY: a non-NULL group is live while its submitter adds members.
    let group_notifies = !group.is_null() && unsafe { (*group).notifies() };
    let watched = !notify.is_none() || group_notifies || partial;
    let m = Meta::new(q.idx, backend, op)
        .with_ordered(ordered)
        .with_barrier(sync)
        .with_stream(stream)
        .with_watched(watched);
    // The workers run a request later, by which time the number may name another file: it holds
    // its caller's open file from now on until it completes (and a worker must exist); so does a
    // stream write that io_uring may take in parts (the rest is issued from its completion), and
    // an fsync for io_uring, which looks the number up only when one of its workers gets to it. A
    // request that parks on its fd is made to hold it by the ordering state machine. A number
    // closed since it was classified is EBADF here: the request's result for a read or write
    // (glibc's convention, see above), the call's error for aio_fsync.
    let thread_job = matches!(notify, Notify::Thread { .. });
    if thread_job {
        notify::ensure_started()?;
    }
    let late_lookup = partial || (sync && backend == Backend::Uring);
    let held = if backend == Backend::Threads || late_lookup {
        match hold_for(fe, fdn, q, backend) {
            Ok(h) => Some(h),
            // SAFETY: as this function (the caller's contract).
            Err(Errno::EBADF) if !sync => return unsafe { accept_failed(eng, q, r, notify, group, Errno::EBADF) },
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let job = if thread_job { new_job() } else { ptr::null_mut() };
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if let Some(h) = held {
        req.set_held(h);
    } else if backend == Backend::Uring && !stream {
        // (`progress` is unused by a request that is not a stream write.)
        req.set_progress(eng.ring_fd_cancels() as usize);
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
        undo(fe, q, r, watched, job);
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

/// Makes a request that must hold its file (see `accept`) do so, and, for the workers, makes sure
/// the queue's pool has a worker. Out of line: the fast path holds nothing.
#[cold]
#[inline(never)]
fn hold_for(fe: &FdEntry, fdn: c_int, q: &Queue, backend: Backend) -> Result<Held, Errno> {
    let h = fe.hold(fdn)?;
    if backend == Backend::Threads {
        if let Some(e) = get() {
            let q = e.queue(q.idx);
            if let Err(err) = q.pool.ensure_worker(q.host(e)) {
                fe.release_hold(h);
                return Err(err);
            }
        }
    }
    Ok(h)
}

/// Takes back a request that was started but then refused.
fn undo(fe: &FdEntry, q: &Queue, r: ReqPtr, watched: bool, job: *mut notify::ThreadJob) {
    // SAFETY: the request was refused: neither parked nor issued, so still ours alone.
    let req = unsafe { r.get() };
    if let Some(h) = req.take_held() {
        fe.release_hold(h);
    }
    if watched {
        q.watch_dec();
    }
    if !job.is_null() {
        // SAFETY: made by new_job above and never handed to the notifier.
        unsafe { free_job(job) };
    }
    req.refuse(libc::EAGAIN);
}

/// The SIGEV_THREAD job block a request with `notify` needs (NULL for the other kinds); EAGAIN
/// if the notifier thread cannot be started.
fn job_for(notify: &Notify) -> Result<*mut ThreadJob, Errno> {
    if let Notify::Thread { .. } = notify {
        notify::ensure_started()?;
        return Ok(new_job());
    }
    Ok(ptr::null_mut())
}

/// A read or write whose offset is negative (EINVAL, before the descriptor is looked at, as
/// `pread` does) or whose length exceeds `SSIZE_MAX` (EFAULT, unless the descriptor is bad:
/// EBADF): accepted, and completed at once with that error (see [`accept`]).
///
/// # Safety
/// As [`accept`].
#[cold]
#[inline(never)]
unsafe fn accept_bad_args(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    group: *const Group,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live; only read here.
    let req = unsafe { r.get() };
    let e = if req.offset() < 0 {
        Errno::EINVAL
    } else if !sys::is_open(req.fd()) {
        Errno::EBADF
    } else {
        Errno(libc::EFAULT)
    };
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_failed(eng, q, r, notify, group, e) }
}

/// A bad descriptor (`e`, EBADF) found at submission: the call's error for `aio_fsync`, the
/// request's result for a read or write (see [`accept`]).
///
/// # Safety
/// As [`accept`].
#[cold]
#[inline(never)]
unsafe fn bad_fd(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    op: Op,
    notify: &Notify,
    group: *const Group,
    e: Errno,
) -> Result<(), Errno> {
    if op.is_sync() {
        return Err(e);
    }
    // SAFETY: as this function (the caller's contract).
    unsafe { accept_failed(eng, q, r, notify, group, e) }
}

/// Accepts a request that fails at once with `e`: it is started (so it is in flight for a moment,
/// exactly like any request) and finished here, on the caller's thread, which publishes the
/// error and sends its notification (and counts its lio group down).
///
/// # Safety
/// As [`accept`].
#[cold]
#[inline(never)]
pub(crate) unsafe fn accept_failed(
    eng: &Engine,
    q: &Queue,
    r: ReqPtr,
    notify: &Notify,
    group: *const Group,
    e: Errno,
) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the aiocb is live.
    let req = unsafe { r.get() };
    if req.in_flight(eng.epoch) && req.status() == libc::EINPROGRESS {
        return Err(Errno::EINVAL);
    }
    req.start(eng.epoch, Meta::new(q.idx, Backend::Threads, Op::Read), job_for(notify)?, Group::as_member_tag(group));
    if let Some(s) = q.stats {
        s.submitted();
    }
    // SAFETY: accepted just now and ours: nobody else can reach it.
    unsafe { finish(eng, r, -(e.0 as isize), true) };
    Ok(())
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
        // Default: checked O_DIRECT to kernel AIO, everything else to the ring.
        assert_eq!(route(direct, None, true, yes), Backend::Kaio);
        assert_eq!(route(direct_blk, None, true, yes), Backend::Kaio);
        assert_eq!(route(buffered, None, true, yes), Backend::Uring);
        assert_eq!(route(pipe, None, true, yes), Backend::Uring, "O_DIRECT on a pipe is no direct file");
        // An unchecked class never goes to kernel AIO (a stale class could make io_submit block).
        assert_eq!(route(direct | kind::UNCHECKED, None, true, || panic!("kaio must not start")), Backend::Uring);
        // No kernel AIO context to be had: the ring, else the workers.
        assert_eq!(route(direct, None, true, no), Backend::Uring);
        assert_eq!(route(direct, None, false, no), Backend::Threads);
        assert_eq!(route(buffered, None, false, yes), Backend::Threads);
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
