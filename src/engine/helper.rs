//! Each queue's helper thread (`aio-rs-h<N>`): issues requests deferred by contexts that could not
//! (a reaper in a signal handler, a thread's exit), re-evaluates fds whose lock a reaper could not
//! take, flushes batches of deferred reads left pending (`deferred::tick`, every 500 µs while
//! reads are being deferred), frees lio groups released where `free` was not allowed, starts
//! workers (and retries when a thread could not be created), and reaps the kernel queue only while someone must be told of a
//! completion that nobody may be waiting for: the queue's `watch` count covers requests with a
//! notification, lio groups with a notification, fsyncs, stream writes larger than `PIPE_BUF`, and
//! waiters that cannot reap the queue themselves; and while any request is parked on an fd every
//! helper watches. The helper sleeps on a futex while it watches nothing (`sys::Doorbell`), and in
//! `poll` on its eventfd, the ring fd and the kernel AIO eventfd that every iocb signals while it
//! watches (or while work waits for workers that could not be started), each descriptor checked
//! to be ours first, with a timeout.

use core::sync::atomic::{AtomicU32, Ordering::*};

use super::backend::uring;
use super::batch::Batch;
use super::complete::{ready_to_reissue, reap_source};
use super::core::{Engine, INIT};
use super::deferred;
use super::fd;
use super::group::Group;
use super::queue::Queue;
use super::request::{Backend, Completions};
use crate::errno::Errno;
use crate::sys::{self, ThreadAttr};

/// How long a polling helper sleeps at most: the bound on the delay of a wake-up rung while the
/// program had taken its eventfd (see `sys::Doorbell`), and on noticing that the ring's number
/// was lost. Only while it watches; an idle helper sleeps on a futex without timeout.
const POLL_MS: i32 = 100;

/// Starts queue `q`'s helper thread once per engine generation (at the first submission on the
/// queue, never in a signal handler): a helper must already run when a non-blocking context needs
/// one. EAGAIN if the thread cannot be created (tried again at the next submission): requests are
/// refused then, since nobody would reap the completions that nobody waits for.
#[inline(always)]
pub(crate) fn ensure(eng: &'static Engine, q: &Queue) -> Result<(), Errno> {
    match STARTED.get(q.idx) {
        Some(flag) if flag.load(Acquire) == eng.epoch as u32 => Ok(()),
        _ => start(eng, q),
    }
}

/// Per queue: the engine generation whose helper thread was started.
static STARTED: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];

/// [`ensure`]'s first call on a queue in this engine generation.
#[cold]
#[inline(never)]
fn start(eng: &'static Engine, q: &Queue) -> Result<(), Errno> {
    let flag = &STARTED[q.idx];
    let _g = INIT.lock();
    if flag.load(Acquire) != eng.epoch as u32 {
        let name = format!("aio-rs-h{}", q.idx);
        let idx = q.idx;
        sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || helper_main(eng, idx))?;
        flag.store(eng.epoch as u32, Release);
    }
    Ok(())
}

fn helper_main(eng: &'static Engine, qi: usize) {
    let q = eng.queue(qi);
    // The one kind of thread that submits to the rings (`AIO_RS_BACKEND=uring`).
    uring::become_submitter();
    // The deferred batches' tick (see `deferred::tick`).
    let (mut last, mut idle) = ((0, false), 0);
    loop {
        let ticket = q.bell.ticket();
        let mut list = q.deferred.take_all();
        if !list.is_empty() {
            let n = list.len() as u32;
            let mut b = Batch::new(eng, true);
            while let Some(r) = list.pop_front() {
                // SAFETY: deferred requests are live and owned by the helper now, in no list.
                if unsafe { ready_to_reissue(eng, r) } {
                    // SAFETY: as above; it holds its file (`ready_to_reissue`).
                    unsafe { b.push(r) };
                }
            }
            b.flush();
            q.issued_deferred(n);
        }
        q.kicks.take_all(|fe| fd::kick(eng, qi, fe, true));
        Group::free_released();
        if q.pool.take_grow_request() {
            q.pool.grow(q.host(eng));
        }
        // A stall check the workers armed: made when due, else sleep no longer than that.
        let stall = q.pool.stall_check(q.host(eng));
        // A batch of deferred reads left pending: flushed within two ticks.
        let tick = deferred::tick(eng, q, &mut last, &mut idle);
        let stall = match (stall, tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A worker that holds back wake-ups may be stuck in a request (see `Pool::hold_wake`).
        if q.pool.holding() {
            eng.wake_waiters(qi);
        }
        // Watch each kernel source whose reap lock we get; if a waiter holds one, it wakes us
        // when it lets go (`Queue::release_reap`).
        let mut poll = [false; 2];
        let watching = q.watching(eng.force_watching());
        if watching {
            for (i, k) in [Backend::Uring, Backend::Kaio].into_iter().enumerate() {
                if let Some(g) = q.helper_try_reap(k) {
                    if k == Backend::Kaio {
                        // Drained only under the context's reap lock, before reaping (see
                        // `wait::Wait`, whose sleepers poll this eventfd holding that lock).
                        q.kaio_fd.drain();
                    }
                    // SAFETY: the source's reap lock is held (g).
                    unsafe { reap_source(eng, q, k, true) };
                    drop(g);
                    poll[i] = true;
                }
            }
        }
        if !q.deferred.is_empty() || !q.kicks.is_empty() {
            continue;
        }
        // Work queued for workers that could not be started: try again after a while.
        let retry_workers = q.pool.starved();
        if !watching && !retry_workers {
            q.bell.sleep(ticket, stall);
            continue;
        }
        // Each descriptor is checked before it is polled; one we lost is not polled (the
        // timeout bounds how late we notice what it would have told).
        let ring_fd = match &q.ring {
            Some(r) if poll[0] => r.checked_fd().unwrap_or(-1),
            _ => -1,
        };
        let kaio_fd = if poll[1] && q.kaio().is_some() { q.kaio_fd.current().unwrap_or(-1) } else { -1 };
        let Some(bell_fd) = q.bell.begin_poll(ticket) else { continue };
        let mut pfd = [
            libc::pollfd { fd: bell_fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: ring_fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: kaio_fd, events: libc::POLLIN, revents: 0 },
        ];
        let ms = match tick {
            // poll counts whole milliseconds: the tick is one there.
            Some(_) => 1,
            None => stall.map_or(POLL_MS, |d| (d.as_millis() as i32 + 1).min(POLL_MS)),
        };
        sys::poll(&mut pfd, ms);
        q.bell.end_poll();
    }
}
