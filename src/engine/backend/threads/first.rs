//! The first attempt of a new pipe or socket request, made on the thread that submits it, inside
//! its `aio_read`/`aio_write` (`Pool::first_attempt`, called by `Batch::issue` for a batch made at
//! submission).
//!
//! Why: a cross-CPU wake-up costs about 12 µs on the reference machine. A pipe or socket write
//! can almost always be done at once, and a read often finds its data already there; sending
//! either through the readiness set's poller (or a worker) and back costs two wake-ups that buy
//! nothing. So the submitter makes one non-blocking attempt itself; only if nothing could move
//! does the request park in the readiness set, as before. A write that moved part of its bytes
//! parks with its progress (`Req::progress`), and the poller continues it.
//!
//! Ordering: only a request the fd's ordering state lets go at once reaches this (`fd::submit`
//! issues at most one request per direction of a stream; a later one waits in the fd's chain until
//! this one completes), so an attempt here never overtakes a request parked earlier.
//!
//! Cancellation: the request is `Issued` during the attempt (`aio_cancel` says AIO_NOTCANCELED: a
//! system call on its fd is under way); it becomes cancellable again only if it parks having
//! moved nothing (`Ready::park`).
//!
//! The attempt uses the caller's number: we are inside the call that submitted the request, where
//! the number still names its file (the rule in docs/ARCHITECTURE.md, Descriptors); it is never
//! used again after this call. Never blocking, never changing the open file's flags:
//!
//! * a read: `preadv2(RWF_NOWAIT)` (pipes, sockets), or `recvmsg(MSG_DONTWAIT)` where the kernel
//!   refuses the flag on a socket (`stream_transfer`);
//! * a write to a socket: `sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL)`, so a connection closed by the
//!   peer answers EPIPE without raising SIGPIPE in the program's thread;
//! * a write to a pipe: `pwritev2(RWF_NOWAIT | RWF_NOSIGNAL)`, where the kernel has that flag
//!   (Linux 6.18), which makes a pipe without reader answer EPIPE without raising SIGPIPE; else
//!   `pwritev2(RWF_NOWAIT)` with SIGPIPE blocked on this thread for the call, and a SIGPIPE it
//!   raised discarded (`sys::pipe_write_quiet`, `sys::without_sigpipe`): glibc's threads, like
//!   our workers, would have taken that signal, not the program's thread.
//!
//! What has no per-call non-blocking transfer (a FIFO answers EOPNOTSUPP to `RWF_NOWAIT`; a tty;
//! a character device that is not a socket) takes its usual path, untouched.

use core::ffi::c_int;

use super::{iovecs, stream_transfer, Host, Pool, NO_IOVEC};
use crate::engine::request::{List, Req, ReqPtr, Span};
use crate::sys;

/// What the transfers of [`attempt_here`] came to.
enum Step {
    /// Finished with this result (a count, or `-errno`).
    Done(isize),
    /// Nothing (more) could move without waiting (a write's progress is in `Req::progress`).
    Again,
    /// No per-call non-blocking transfer on this file; nothing moved.
    Unsupported,
}

/// What the submitter's first attempt came to.
pub(crate) enum First {
    /// Finished with this result (a count, or `-errno`): the caller completes it.
    Done(isize),
    /// Nothing (more) could move: it waits in the readiness set, or, if it cannot wait there, on
    /// the work list (handed over as the set hands requests back: `Pool::requeue`, which keeps a
    /// partly written request uncancellable).
    Waits,
    /// Not attempted (not a stream transfer, or no per-call non-blocking way): its usual path.
    Usual,
    /// Nothing moved, and it cannot wait: no descriptor could be had to hold its file with, or no
    /// thread to wait for it (neither the poller nor a worker could be started). The caller takes
    /// it back (its submission fails with EAGAIN, as when a duplicate cannot be made at
    /// submission).
    Refused,
}

impl Pool {
    /// The first attempt of the new stream request `r`, on the submitting thread (see the module
    /// documentation). `fifo`: its file was classified as a pipe or FIFO. `local`: should it park,
    /// it may be left unregistered for a while to its submitter's next wait (`ready::defer`). `hold`: makes the
    /// request hold its file (if it does not yet), called only when it must wait: a request
    /// finished here never needs a duplicate. If it cannot, the request is refused (or, if a
    /// write moved part of its bytes, ends with that count, as a non-blocking write would).
    ///
    /// # Safety
    /// `r` is live, accepted and issued by the fd's ordering state (phase Issued), owned by the
    /// caller and in no list, and the caller is inside the call that submitted it.
    pub(crate) unsafe fn first_attempt(
        &'static self,
        r: ReqPtr,
        host: Host,
        fifo: bool,
        local: bool,
        hold: impl FnOnce(&Req<'_>) -> Result<(), isize>,
    ) -> First {
        // SAFETY: the caller owns `r`, live and in flight (this function's contract).
        let req = unsafe { r.get() };
        let m = req.meta();
        if !m.stream() || m.op().is_sync() || req.progress() != 0 {
            return First::Usual;
        }
        match attempt_here(&req, fifo) {
            Step::Done(n) => First::Done(n),
            Step::Again => {
                if hold(&req).is_err() {
                    let moved = req.progress();
                    return if moved > 0 { First::Done(moved as isize) } else { First::Refused };
                }
                if !self.park(r, host, local) {
                    // Neither the readiness set's poller nor a worker can be had (no thread can
                    // be made): nothing would run it (the helper never runs a stream's request).
                    if self.ensure_worker(host).is_err() {
                        let moved = req.progress();
                        return if moved > 0 { First::Done(moved as isize) } else { First::Refused };
                    }
                    let mut l = List::new();
                    // SAFETY: `r` is live and ours, and in no list: `park` did not take it.
                    unsafe { l.push_back(r) };
                    self.requeue(l, host.helper);
                }
                First::Waits
            }
            Step::Unsupported => First::Usual,
        }
    }
}

/// Non-blocking transfers on the caller's number until the request is finished or nothing more
/// moves (a write's progress so far is then in `Req::progress`). `Unsupported` only when nothing
/// moved.
fn attempt_here(req: &Req<'_>, fifo: bool) -> Step {
    let write = req.meta().op().is_write();
    let fd = req.fd();
    let mut done = 0usize;
    loop {
        // SAFETY: the rest of the caller's buffer or iovec array (`Req::span`), valid while the
        // request is in flight (the contract of aio_read/aio_write and their vector forms).
        let n = unsafe { transfer_here(fd, write, fifo, req.span(done)) };
        if n >= 0 {
            done += n as usize;
            // A read returns what is there; a write, like write(2) on a blocking pipe, finishes
            // everything (a vector from the entry and offset where it stopped).
            if !write || n == 0 || req.span(done).is_none() {
                return Step::Done(done as isize);
            }
            continue;
        }
        return match -n as i32 {
            libc::EAGAIN | libc::EINTR if done > 0 => {
                req.set_progress(done);
                Step::Again
            }
            libc::EAGAIN => Step::Again,
            libc::EOPNOTSUPP | libc::ENOTSOCK | libc::EINTR => Step::Unsupported,
            _ => Step::Done(if done > 0 { done as isize } else { n }),
        };
    }
}

/// One non-blocking transfer on the caller's thread (see the module documentation): a count or
/// `-errno`; EOPNOTSUPP or ENOTSOCK when this file has no such transfer.
///
/// # Safety
/// The span describes the caller's memory, valid (writable for a read) for the call.
unsafe fn transfer_here(fd: c_int, write: bool, fifo: bool, span: Option<Span>) -> isize {
    if !write {
        // SAFETY: `span` is the rest of the request's buffer or iovec array, which the program
        // keeps valid and writable while the request is in flight (this function's contract).
        return unsafe { stream_transfer(fd, false, span, true) };
    }
    let mut one = NO_IOVEC;
    let Some((iov, cnt)) = iovecs(span, &mut one) else { return 0 };
    if fifo {
        // SAFETY: `cnt` entries at `iov`: the request's own iovec array, or `one`, live until the
        // call returns, each describing the request's memory, valid while it is in flight.
        return unsafe { sys::pipe_write_quiet(fd, iov, cnt) }.unwrap_or(-(libc::EOPNOTSUPP as isize));
    }
    // SAFETY: `cnt` entries at `iov`: the request's own iovec array, or `one`, live until the
    // call returns, each describing the request's memory, valid while it is in flight.
    unsafe { sys::sock_send_quiet(fd, iov, cnt) }
}
