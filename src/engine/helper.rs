//! Each queue's helper thread (`aio-rs-h<N>`): issues requests deferred by contexts that could not
//! (a reaper in a signal handler, a thread's exit), re-evaluates fds whose lock a reaper could not
//! take, frees lio groups released where `free` was not allowed, retries submissions stuck in the
//! ring, starts workers, and reaps the kernel queue only while someone must be told of a
//! completion that nobody may be waiting for: the queue's `watch` count covers requests with a
//! notification, lio groups with a notification, fsyncs, stream writes larger than `PIPE_BUF`, and
//! waiters that cannot reap the queue themselves; and while any request is parked on an fd every
//! helper watches. The helper sleeps in `poll` on its eventfd plus, while watching, the ring fd and
//! the kernel AIO eventfd that every iocb signals.

use core::sync::atomic::{AtomicU32, Ordering::*};

use super::batch::Batch;
use super::complete::{reap, reap_source};
use super::core::{Engine, INIT};
use super::fd;
use super::group::Group;
use super::queue::Queue;
use super::request::Backend;
use crate::sys::{self, ThreadAttr};

/// Starts queue `q`'s helper thread once per engine generation (at the first submission on the
/// queue, never in a signal handler): a helper must already run when a non-blocking context needs
/// one.
pub(crate) fn ensure(eng: &'static Engine, q: &Queue) {
    static STARTED: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];
    let flag = &STARTED[q.idx];
    if flag.load(Acquire) == eng.epoch as u32 {
        return;
    }
    let _g = INIT.lock();
    if flag.load(Acquire) != eng.epoch as u32 {
        let name = format!("aio-rs-h{}", q.idx);
        let idx = q.idx;
        if sys::spawn(&name, ThreadAttr::Stack(256 * 1024), move || helper_main(eng, idx)).is_ok() {
            flag.store(eng.epoch as u32, Release);
        }
    }
}

fn helper_main(eng: &'static Engine, qi: usize) {
    let q = eng.queue(qi);
    loop {
        let mut list = q.deferred.take_all();
        if !list.is_empty() {
            let mut b = Batch::new(eng, true);
            while let Some(r) = list.pop_front() {
                // SAFETY: deferred requests are live and owned by the helper now.
                unsafe { b.push(r) };
            }
            b.flush();
        }
        q.kicks.take_all(|fe| fd::kick(eng, qi, fe, true));
        Group::free_released();
        if let Some(r) = &q.ring {
            if r.take_stuck() {
                // Completions may be what the kernel waits for: reap first, then retry.
                reap(eng, q, true);
                r.retry_stuck();
            }
        }
        if q.pool.take_grow_request() {
            q.pool.grow(q.host(eng));
        }
        // Watch each kernel source whose reap lock we get; if a waiter holds one, it wakes us
        // when it lets go (`Queue::release_reap`).
        let mut poll = [false; 2];
        if q.watching(eng.force_watching()) {
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
        let timeout = if q.ring.as_ref().is_some_and(|r| r.is_stuck()) { 1 } else { -1 };
        let ring_fd = q.ring.as_ref().map_or(-1, |r| r.fd());
        let kaio_fd = if q.kaio().is_some() { q.kaio_fd.raw() } else { -1 };
        let mut pfd = [
            libc::pollfd { fd: q.wake_fd.raw(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if poll[0] { ring_fd } else { -1 }, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if poll[1] { kaio_fd } else { -1 }, events: libc::POLLIN, revents: 0 },
        ];
        sys::poll(&mut pfd, timeout);
        q.wake_fd.drain();
    }
}
