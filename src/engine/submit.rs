//! Submission: accepting one request on the caller's thread. [`accept`] classifies the fd,
//! chooses the backend ([`route`]), records the request's state in its aiocb, and either adds it
//! to the caller's batch (the fast path: no ordering needed, no barrier pending on the fd) or
//! hands it to the fd's ordering state machine.
//!
//! There is no global lock on this path: each queue has its own locks, and the per-fd count is
//! one atomic.

use core::ptr;

use super::batch::Batch;
use super::core::Engine;
use super::fd;
use super::fd::table::kind;
use super::group::Group;
use super::queue::Queue;
use super::request::{new_job, Backend, Meta, Op, ReqPtr};
use crate::errno::Errno;
use crate::notify::{self, Notify};

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
/// parks it on its fd). `group` is its lio group or NULL. On error nothing was recorded and the
/// aiocb is untouched.
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
    let fdn = req.fd();
    let fe = eng.fds.entry(fdn)?;
    let (k, changed) = fe.classify(fdn, q.ring.is_some(), req.offset() == 0)?;
    let stream = k & kind::STREAM != 0;
    if !stream && !op.is_sync() && req.offset() < 0 {
        return Err(Errno::EINVAL);
    }
    let cfg = &eng.config.queue;
    let backend = route(k, cfg.forced, q.ring.is_some(), || q.kaio_start(cfg).is_some());
    let ordered = !op.is_sync() && (stream || (op == Op::Write && k & kind::APPEND != 0));
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
        .with_barrier(op.is_sync())
        .with_stream(stream)
        .with_watched(watched);
    let job = if let Notify::Thread { .. } = notify {
        notify::ensure_started()?;
        new_job()
    } else {
        ptr::null_mut()
    };
    req.start(eng.epoch, m, job, Group::as_member_tag(group));
    if watched {
        q.watch_inc();
    }
    if eng.config.stats_on {
        q.stats.submitted();
    }
    let fast = if !ordered && !op.is_sync() && !changed { fe.order.try_fast() } else { None };
    if let Some(g) = fast {
        req.set_meta(m.with_counted(g));
        // SAFETY: accepted just now, ours, in no list.
        unsafe { batch.push(r) };
    } else {
        // SAFETY: accepted just now, ours, not counted, in no list.
        unsafe { fd::submit(eng, fe, r, changed, batch) };
    }
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
    }
}
