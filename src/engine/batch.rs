//! Requests gathered for issue, flushed with one system call per run of requests with the same
//! queue and backend: `io_uring_enter` under the ring's submission lock, `io_submit` (no lock), or
//! a push onto the queue's work list. What a backend will not take (AIO slots exhausted, a
//! rejected iocb, a ring error) falls back to the workers, or, in a context that may not wait for
//! a lock, to the queue's helper. A request that falls back has moved: whoever sleeps in the
//! kernel on the backend it left is woken (`Queue::wake_source`), since it may be waiting for it.

use core::mem::MaybeUninit;

use super::core::{get, Engine};
use super::queue::Queue;
use super::request::{Backend, List, ReqPtr};

pub(crate) struct Batch<'e> {
    eng: &'e Engine,
    /// False in contexts that must not wait for a lock (possibly a signal handler).
    blocking: bool,
    list: List,
}

impl<'e> Batch<'e> {
    pub(crate) fn new(eng: &'e Engine, blocking: bool) -> Self {
        Batch { eng, blocking, list: List::new() }
    }

    /// Adds `r`, now issued.
    ///
    /// # Safety
    /// `r` is live, accepted, owned by the caller and in no list.
    pub(crate) unsafe fn push(&mut self, r: ReqPtr) {
        // SAFETY: the caller owns `r`, live, accepted and in no list: we may move its phase and
        // link it into our list.
        unsafe {
            r.get().issue();
            self.list.push_back(r);
        }
    }

    pub(crate) fn flush(&mut self) {
        // Uninitialised on purpose (zeroing it cost more than the rest of the submit path);
        // only the first `n` slots are read.
        let mut run = [MaybeUninit::<ReqPtr>::uninit(); 64];
        while let Some(first) = self.list.pop_front() {
            // SAFETY: members of the batch are live (push's contract).
            let m = unsafe { first.get() }.meta();
            run[0].write(first);
            let mut n = 1;
            while n < run.len() {
                match self.list.front() {
                    // SAFETY: members of the batch are live (push's contract); only the meta is read.
                    Some(r) if unsafe { r.get() }.meta().target() == m.target() => {
                        self.list.pop_front();
                        run[n].write(r);
                        n += 1;
                    }
                    _ => break,
                }
            }
            // SAFETY: the first n slots were written above; MaybeUninit<ReqPtr> has ReqPtr's
            // layout.
            let reqs = unsafe { core::slice::from_raw_parts(run.as_ptr() as *const ReqPtr, n) };
            self.issue(self.eng.queue(m.queue()), m.backend(), reqs);
        }
    }

    /// What `backend` would not take: a blocking context falls back to the workers (kernel AIO
    /// slots exhausted, a rejected iocb, or a ring error); a non-blocking one leaves it to the
    /// helper.
    #[cold]
    fn fall_back(&self, q: &Queue, backend: Backend, reqs: &[ReqPtr]) {
        for &r in reqs {
            if self.blocking || backend == Backend::Threads {
                q.stats.fell_back();
                // SAFETY: r is live, not in the kernel, ours and in no list.
                unsafe { r.get() }.set_backend(Backend::Threads);
                let mut l = List::new();
                // SAFETY: r is live, ours (the backend did not take it) and in no list.
                unsafe { l.push_back(r) };
                q.pool.push(&mut l, true);
                q.want_worker_if_needed();
            } else {
                // SAFETY: r is live, ours (the backend did not take it) and in no list.
                unsafe { q.defer(r) };
                q.wake();
            }
        }
        if self.blocking && backend != Backend::Threads {
            // A waiter may have seen these requests issued to `backend` and gone to sleep there
            // (`wait::wait_until`); their completions now come from the workers.
            self.eng.moved();
            q.wake_source(backend);
        }
    }

    fn issue(&self, q: &Queue, backend: Backend, reqs: &[ReqPtr]) {
        let taken = match backend {
            Backend::Uring => match &q.ring {
                Some(r) => {
                    // SAFETY: the requests are live and accepted (push's contract).
                    let (put, stuck) = unsafe { r.submit(reqs, self.blocking) };
                    if stuck {
                        q.wake();
                    }
                    put
                }
                None => 0,
            },
            Backend::Kaio => q.kaio().map_or(0, |k| {
                // SAFETY: the requests are live and accepted (push's contract) and their buffers
                // stay valid while in flight (POSIX); kaio_fd is the queue's eventfd.
                unsafe { k.submit(reqs, q.kaio_fd.raw()) }
            }),
            Backend::Threads => {
                let mut l = List::new();
                for &r in reqs {
                    // SAFETY: r is live and in no list.
                    unsafe { l.push_back(r) };
                }
                if q.pool.push(&mut l, self.blocking) {
                    match get() {
                        // A blocking context starts the worker itself (no hand-off); others ask
                        // the helper.
                        Some(e) if self.blocking => {
                            let q = e.queue(q.idx);
                            q.pool.grow(q.host(e));
                        }
                        _ => q.want_worker_if_needed(),
                    }
                    reqs.len()
                } else {
                    // Could not take the work lock in a non-blocking context.
                    while let Some(r) = l.pop_front() {
                        // SAFETY: r is live and ours; the helper takes it from here.
                        unsafe { q.defer(r) };
                    }
                    q.wake();
                    return;
                }
            }
        };
        if taken < reqs.len() {
            self.fall_back(q, backend, &reqs[taken..]);
        }
    }
}
