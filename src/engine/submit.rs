//! Submission: accepting one request on the caller's thread. [`accept`] classifies the fd,
//! chooses the backend ([`route`]), records the request's state in its aiocb, and either adds it
//! to the caller's batch (the fast path: no ordering needed, no barrier pending on the fd) or
//! hands it to the fd's ordering state machine.
//!
//! There is no global lock on this path: each queue has its own locks, and the per-fd count is
//! one atomic.

use core::ptr;

use super::batch::Batch;
use super::complete::finish;
use super::core::Engine;
use super::fd;
use super::fd::table::kind;
use super::group::Group;
use super::queue::Queue;
use super::request::{new_job, Backend, Meta, Op, ReqPtr};
use crate::errno::Errno;
use crate::notify::cq::QueueRef;
use crate::notify::{self, Notify, ThreadJob};

/// Chooses the backend for a request on an fd of class `k` (`fd::table::kind` bits), given the
/// backend `AIO_RS_BACKEND` forces (if any), whether the queue has a ring, and a way to start
/// (or find) the queue's kernel AIO context.
///
/// O_DIRECT files and block devices go to kernel AIO unless io_uring or the workers are forced:
/// on the reference machine it is the faster of the two for them (the benchmark's per-engine
/// figures are in the README). Only if the class was checked, though: a lone request on an idle
/// fd whose class came from the cache unchecked goes to io_uring, which is safe whatever the fd
/// has become. Everything else goes to io_uring when the queue has a ring, else to the workers.
pub(crate) fn route(k: u32, forced: Option<Backend>, has_ring: bool, kaio: impl FnOnce() -> bool) -> Backend {
    let checked_direct = k & (kind::DIRECT | kind::UNCHECKED) == kind::DIRECT;
    if checked_direct && matches!(forced, None | Some(Backend::Kaio)) && kaio() {
        return Backend::Kaio;
    }
    if has_ring {
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
/// # Safety
/// `r` points to a live aiocb that the caller will not modify or free until it completes.
#[allow(clippy::too_many_arguments)]
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
    let sync = op.is_sync();
    // aio_fsync reads nothing but aio_fildes and aio_sigevent.
    if !sync && !file_pos && req.offset() < 0 {
        // SAFETY: as this function (the caller's contract).
        return unsafe { accept_failed(eng, q, r, notify, group, Errno::EINVAL) };
    }
    let fdn = req.fd();
    // A request at the file position needs a checked class (see `at_file_pos`).
    let lone_ok = q.ring.is_some() && !file_pos;
    let class = eng.fds.entry(fdn).and_then(|fe| Ok((fe, fe.classify(fdn, lone_ok, sync || req.offset() == 0)?)));
    let (fe, (k, changed)) = match class {
        Ok(c) => c,
        Err(e) if sync => return Err(e),
        // SAFETY: as this function (the caller's contract).
        Err(e) => return unsafe { accept_failed(eng, q, r, notify, group, e) },
    };
    // (A vector's aio_nbytes is its count of entries, at most IOV_MAX: the intake saw to it.)
    if !sync && !op.is_vector() && req.nbytes() > isize::MAX as usize {
        // SAFETY: as this function (the caller's contract).
        return unsafe { accept_failed(eng, q, r, notify, group, Errno(libc::EFAULT)) };
    }
    let stream = k & kind::STREAM != 0;
    let cfg = &eng.config.queue;
    let (backend, file_pos) = if file_pos {
        // On a stream there is no position: the flag changes nothing there.
        let file_pos = !stream && !sync;
        (at_file_pos(k, file_pos, || route(k, cfg.forced, q.ring.is_some(), || q.kaio_start(cfg).is_some())), file_pos)
    } else {
        (route(k, cfg.forced, q.ring.is_some(), || q.kaio_start(cfg).is_some()), false)
    };
    // Requests at the file position run one at a time on their fd, in submission order, as
    // consecutive read(2)/write(2) calls would (reads and writes in one chain: both move it).
    let ordered = !sync && (stream || file_pos || (op.is_write() && k & kind::APPEND != 0));
    // Completions someone must act on without anyone waiting: a notification (of the request,
    // or of its lio group), a barrier (requests wait behind it), and a stream write larger than
    // PIPE_BUF (io_uring may take it in parts; the rest must then be issued; a vector counts as
    // large, its length is not read here). Requests parked on an fd make every helper watch
    // meanwhile (see `fd`).
    let partial = stream && op.is_write() && (op.is_vector() || req.nbytes() > libc::PIPE_BUF);
    // SAFETY: a non-NULL group is live while its submitter adds members.
    let group_notifies = !group.is_null() && unsafe { (*group).notifies() };
    let (job, queued, notify_watch) = notify_parts(q, r, notify, backend)?;
    let watched = notify_watch || group_notifies || sync || partial;
    let m = Meta::new(q.idx, backend, op)
        .with_ordered(ordered)
        .with_barrier(sync)
        .with_stream(stream)
        .with_file_pos(file_pos)
        .with_queued(queued)
        .with_watched(watched);
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if watched {
        q.watch_inc();
    }
    if eng.config.stats_on {
        q.stats.submitted();
    }
    if !ordered && !sync && !changed && fe.order.try_fast() {
        req.set_meta(m.with_counted());
        // SAFETY: accepted just now, ours, in no list.
        unsafe { batch.push(r) };
    } else {
        // SAFETY: accepted just now, ours, in no list.
        unsafe { fd::submit(eng, fe, r, changed, batch) };
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

/// Accepts a request that fails at once with `e`: it is started (so it is in flight for a moment,
/// exactly like any request) and finished here, on the caller's thread, which publishes the
/// error and sends its notification (puts it on its completion queue, counts its lio group down).
///
/// # Safety
/// As [`accept`].
#[cold]
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
    let (job, queued, _) = notify_parts(q, r, notify, Backend::Threads)?;
    let m = Meta::new(q.idx, Backend::Threads, Op::Read).with_queued(queued);
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if eng.config.stats_on {
        q.stats.submitted();
    }
    // SAFETY: accepted just now and ours: nobody else can reach it.
    unsafe { finish(eng, r, -(e.0 as isize), true) };
    Ok(())
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
/// itself (see `notify::cq`); the workers finish their requests themselves. False if that could
/// not be done: then the request must be watched (a helper reaps it and signals the queue).
#[cold]
fn attach(q: &Queue, cq: &QueueRef, backend: Backend) -> bool {
    match backend {
        Backend::Uring => q.ring.as_ref().is_some_and(|r| cq.attach(q.idx, 0, r.fd())),
        Backend::Kaio => cq.attach(q.idx, 1, q.kaio_fd.raw()),
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
    }
}
