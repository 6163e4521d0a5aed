//! Stream requests that wait for readiness without a thread: a pool's readiness set.
//!
//! A new pipe or socket request for the workers is parked here at submission, and a worker that
//! finds a pipe or socket not ready (its non-blocking attempt answered EAGAIN) parks its request
//! here too and goes on with other work. Parked requests sit in a table keyed by the number of
//! the duplicate they hold (`Req::held`, never the program's number), one FIFO per direction, and
//! that number is registered in the pool's epoll instance (`sys::OwnEpoll`, one of our own
//! descriptors) for the directions that have requests, with `EPOLLONESHOT`: an event disarms the
//! registration until it is armed again, so one event is handled once. The pool's poller thread
//! (one per pool, started with the first parked request) sleeps in `epoll_wait` on the instance
//! and, on readiness, makes one non-blocking attempt for the first request of each ready
//! direction ([`Ready::serve`]); what finishes is handed on, what found nothing goes back to the
//! front of its list, and the registration is armed again for what is left, or removed once
//! nothing is left, always before the finished requests are handed on (their completion may give
//! up the duplicate, whose number must not stay registered).
//!
//! Ordering: only the first request of a direction is ever attempted, and it goes back to the
//! front; the fd's ordering state (`engine::fd`) issues at most one request per direction of a
//! number anyway.
//!
//! Cancellation: a parked request that has transferred nothing is in phase `Queued`, owned by the
//! table's lock; `aio_cancel` takes it out under that lock ([`Ready::remove`],
//! [`Ready::take_on_fd`]) and it never touches the fd. The poller moves it to `Issued` under the
//! lock before its attempt. A partly written request waits in phase `Issued` (not cancellable).
//!
//! The non-blocking attempts themselves are here too ([`stream_transfer`], used by the workers'
//! first attempt as well, and [`attempt_ready`], the poller's).
//!
//! Losing the instance (`closefrom` took its number) loses every registration: the poller then
//! hands every parked request back to the workers ([`Ready::drain_all`]), which wait for them the
//! old way (a worker each) until a program thread has made a new instance; registrations of an
//! instance lost and made again since are dropped the same way (`Table::instance`).

mod claim;
mod defer;
mod hash;

use core::ffi::c_int;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use core::time::Duration;
use std::collections::HashMap;

use self::hash::NumberHash;
use crate::engine::request::{List, Phase, Req, ReqPtr, Span};
use crate::errno::Errno;
use crate::sys::{self, Lock, OwnEpoll};

/// How long the poller waits before it looks for an epoll instance again after losing one.
const NAP: Duration = Duration::from_millis(200);
/// How long the poller stays in `epoll_wait` after the last parked request left.
const LINGER: Duration = Duration::from_secs(1);
/// The poller's `epoll_wait` timeouts while requests are parked, and while it lingers: the bound
/// on how late it notices that the instance was lost (or made again after a loss).
const WAIT_MS: c_int = 1000;
const LINGER_MS: c_int = 200;

const IN: u32 = libc::EPOLLIN as u32;
const OUT: u32 = libc::EPOLLOUT as u32;
/// Reported whatever was asked: an error or hang-up makes both directions worth an attempt.
const ANY: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;

/// What one non-blocking attempt on a ready request came to.
pub(crate) enum Step {
    /// Finished with this result (a count, or `-errno`).
    Done(isize),
    /// Nothing (more) could move without waiting (any progress is in `Req::progress`).
    Again,
    /// No per-call non-blocking transfer on this file (a FIFO, a tty): for a worker.
    Unsupported,
}

/// The parked requests of one held number.
struct Entry {
    /// The held duplicate (`sys::Held` word) the requests use.
    held: u32,
    /// Which registration of the number this is (in the event's data with the number): an event
    /// of an earlier registration of the same number (a file the number named before) is ignored.
    seq: u32,
    /// Whether the number is in the epoll set (added and not removed since).
    registered: bool,
    /// Non-zero while its request is left to its completion queue's harvest (`defer`): the
    /// time (µs, monotonic) the poller takes it; such an entry is not armed in the epoll set.
    defer: u64,
    /// Parked requests per direction (0 read, 1 write), in submission order.
    lists: [List; 2],
}

/// The table's map: held numbers to their entries, hashed by `NumberHash` (`ready/hash.rs`).
type ByFd = HashMap<c_int, Entry, NumberHash>;

#[derive(Default)]
struct Table {
    by_fd: ByFd,
    seq: u32,
    /// The generation of the epoll instance the entries are registered in (`OwnEpoll::current_gen`).
    gen: u32,
}

impl Table {
    /// The current epoll instance. Entries registered in an earlier one (lost, and made again
    /// since: their registrations went with it) are dropped, their requests to `orphans`.
    fn instance(&mut self, ep: &OwnEpoll, orphans: &mut List, waiting: &AtomicU32) -> Option<c_int> {
        let (fd, gen) = ep.current_gen()?;
        if gen != self.gen {
            for (_, e) in self.by_fd.drain() {
                for l in e.lists {
                    waiting.fetch_sub(l.len() as u32, SeqCst);
                    orphans.append(l);
                }
            }
            self.gen = gen;
        }
        Some(fd)
    }

    /// The entry of duplicate `held` (its number `fd`), made if there is none. An entry of an
    /// earlier duplicate at that number (the program took the number from us, and a new
    /// duplicate of ours got it) is stale: its requests go to `orphans` (the workers find their
    /// duplicate lost and end them), and its registration, if it outlived the number, is ignored.
    fn entry(&mut self, fd: c_int, held: u32, orphans: &mut List, waiting: &AtomicU32) -> &mut Entry {
        let seq = &mut self.seq;
        let e = self.by_fd.entry(fd).or_insert_with(|| {
            *seq = seq.wrapping_add(1);
            Entry { held, seq: *seq, registered: false, defer: 0, lists: [List::new(), List::new()] }
        });
        if e.held != held {
            for l in &mut e.lists {
                waiting.fetch_sub(l.len() as u32, SeqCst);
                orphans.append(core::mem::replace(l, List::new()));
            }
            *seq = seq.wrapping_add(1);
            *e = Entry { held, seq: *seq, registered: false, defer: 0, lists: [List::new(), List::new()] };
        }
        e
    }
}

/// A pool's readiness set (see the module documentation).
pub(crate) struct Ready {
    ep: OwnEpoll,
    table: Lock<Table>,
    /// Requests in the table.
    waiting: AtomicU32,
    /// Non-zero while the poller sleeps on it (nothing parked for a while).
    idle: AtomicU32,
    /// At least the number of deferred entries (`defer`; the poller counts them again).
    deferred: AtomicU32,
    /// When (µs, monotonic) the poller looks at the table next, at the latest (`defer`).
    looks_by: AtomicU64,
    /// Until when (µs) the poller keeps its waits short, so that parks may defer (`defer`).
    short_until: AtomicU64,
}

fn dir_of(req: &Req<'_>) -> usize {
    req.meta().op().is_write() as usize
}

impl Ready {
    pub(crate) fn new() -> Ready {
        Ready {
            ep: OwnEpoll::new(),
            table: Lock::new(Table::default()),
            waiting: AtomicU32::new(0),
            idle: AtomicU32::new(0),
            deferred: AtomicU32::new(0),
            looks_by: AtomicU64::new(u64::MAX),
            short_until: AtomicU64::new(0),
        }
    }

    /// The epoll instance (made, checked and closed like our other descriptors).
    pub(crate) fn epoll(&self) -> &OwnEpoll {
        &self.ep
    }

    /// Whether the set has an epoll instance (one load; it may have been lost since: `park`
    /// checks).
    pub(crate) fn in_use(&self) -> bool {
        self.ep.made()
    }

    /// Whether requests are parked (one load).
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.load(SeqCst) != 0
    }

    /// Parks `r` (owned by the caller, live, in no list, holding its file) to wait for readiness,
    /// at the front of its direction if `front` (it was first and goes back there); `local`: it
    /// may be left to its submitter's next wait for a while (`defer`). None if it
    /// cannot wait here (no epoll instance, nothing held, the number refused): the caller keeps
    /// it. A registration that cannot be armed any more sends the requests parked on it to
    /// `orphans` (for the workers).
    pub(crate) fn park(&self, r: ReqPtr, front: bool, local: bool, orphans: &mut List) -> Option<()> {
        // SAFETY: the caller owns r, live (see above).
        let req = unsafe { r.get() };
        let held = req.held()?;
        let fd = held.fd();
        let dir = dir_of(&req);
        let mut g = self.table.lock();
        let t = &mut *g;
        // A request left to its submitter's next wait (`defer`) is not registered: the instance is
        // looked at (one `fcntl`) only if it is registered after all. The table must not be of
        // an older instance than the last one made, though (`Table::instance` drops those).
        let gen = t.gen;
        let ep = match local && gen == self.ep.generation() && gen != 0 {
            true => None,
            false => Some(t.instance(&self.ep, orphans, &self.waiting)?),
        };
        let e = t.entry(fd, held.to_word(), orphans, &self.waiting);
        // Cancellable only while nothing was transferred.
        if req.progress() == 0 {
            req.queue_for_workers();
        } else {
            req.issue();
        }
        // SAFETY: r is live and in no list (caller); the table owns it from here.
        unsafe {
            if front {
                e.lists[dir].push_front(r);
            } else {
                e.lists[dir].push_back(r);
            }
        }
        // Left to its completion queue's harvest or to its waiter for a while (`defer`), or armed
        // for the poller (in the instance the table is of: else it cannot wait here).
        if !self.defer_new(fd, e, r, local) {
            let ep = ep.or_else(|| self.ep.current_gen().filter(|&(_, g)| g == gen).map(|(ep, _)| ep));
            if ep.is_none_or(|ep| arm(ep, fd, e).is_err()) {
                e.lists[dir].remove(r);
                req.issue();
                self.dismiss(ep, &mut t.by_fd, fd, orphans);
                return None;
            }
        }
        self.waiting.fetch_add(1, SeqCst);
        drop(g);
        // After `waiting` grew: see `poll_loop`.
        if self.idle.load(SeqCst) != 0 {
            self.idle.store(0, SeqCst);
            sys::futex_wake(&self.idle, 1);
        }
        Some(())
    }

    /// The poller thread: sleeps in `epoll_wait` on the instance (checked before each wait, with
    /// a timeout that bounds how late a lost one is noticed) and serves what is ready, handing
    /// finished requests to `done` and what the workers must take to `requeue`. A lost instance
    /// hands every parked request to the workers. Once nothing was parked for `LINGER` it sleeps
    /// on a futex instead (no wake-ups while streams are not in use); the next park wakes it.
    ///
    /// No park goes unseen: the poller stores `idle` and then reads `waiting`; a parker adds to
    /// `waiting` and then reads `idle` (all SeqCst). Either the poller sees the request, or the
    /// parker sees the flag and clears it before the futex wake-up (so a wait that starts after
    /// the clear returns at once).
    pub(crate) fn poll_loop(&self, requeue: &dyn Fn(List), done: &mut dyn FnMut(ReqPtr, isize)) -> ! {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 64];
        let nap = AtomicU32::new(0);
        let mut busy = sys::now();
        loop {
            let mut orphans = List::new();
            let Some(ep) = self.instance(&mut orphans) else {
                // Lost with every registration: the workers wait for these until a program
                // thread has made a new instance.
                requeue(self.drain_all());
                let _ = sys::futex_wait(&nap, 0, Some(NAP));
                continue;
            };
            requeue(core::mem::replace(&mut orphans, List::new()));
            let ms = if self.waiting() {
                busy = sys::now();
                WAIT_MS
            } else if sys::now() < busy + LINGER {
                // Soon again, probably (a ping-pong): stay in epoll_wait.
                LINGER_MS
            } else {
                self.sleeping();
                self.idle.store(1, SeqCst);
                if !self.waiting() {
                    let _ = sys::futex_wait(&self.idle, 1, None);
                }
                self.idle.store(0, SeqCst);
                busy = sys::now();
                continue;
            };
            let ms = self.expire(ep, ms, &mut orphans);
            requeue(core::mem::replace(&mut orphans, List::new()));
            let n = sys::epoll_wait(ep, &mut evs, ms);
            self.serve(ep, &evs[..n], &mut attempt_ready, done, &mut orphans);
            requeue(orphans);
        }
    }

    /// The poller: for the events `evs` taken from `ep` (the instance, checked before the wait),
    /// makes one attempt (`attempt`) for the first request of each ready direction, puts back
    /// what found nothing, arms again, and hands finished requests to `done`.
    pub(crate) fn serve(
        &self,
        ep: c_int,
        evs: &[libc::epoll_event],
        attempt: &mut dyn FnMut(&Req<'_>) -> Step,
        done: &mut dyn FnMut(ReqPtr, isize),
        orphans: &mut List,
    ) {
        for ev in evs {
            let (events, data) = (ev.events, ev.u64);
            let (fd, seq) = (data as u32 as c_int, (data >> 32) as u32);
            let mut taken = [None, None];
            {
                let mut g = self.table.lock();
                let Some(e) = g.by_fd.get_mut(&fd).filter(|e| e.seq == seq) else { continue };
                for (dir, want) in [IN, OUT].into_iter().enumerate() {
                    if events & (want | ANY) == 0 {
                        continue;
                    }
                    if let Some(r) = e.lists[dir].pop_front() {
                        // SAFETY: members of the table are live; the poller owns r now.
                        unsafe { r.get() }.issue();
                        self.waiting.fetch_sub(1, SeqCst);
                        taken[dir] = Some(r);
                    }
                }
                if taken == [None, None] {
                    // Its requests were cancelled meanwhile: arm again for what is left.
                    self.dismiss(Some(ep), &mut g.by_fd, fd, orphans);
                    continue;
                }
            }
            let mut results = [None, None];
            for (res, r) in results.iter_mut().zip(taken.iter_mut()) {
                let Some(p) = *r else { continue };
                // SAFETY: taken from the table above: live and ours until handed on.
                match attempt(&unsafe { p.get() }) {
                    Step::Done(n) => *res = Some(n),
                    Step::Again => {}
                    Step::Unsupported => {
                        // SAFETY: ours, in no list: the workers take it from here.
                        unsafe { orphans.push_back(p) };
                        *r = None;
                    }
                }
            }
            {
                let mut g = self.table.lock();
                let t = &mut *g;
                for (r, res) in taken.iter().zip(results) {
                    let Some(r) = *r else { continue };
                    if res.is_some() {
                        continue;
                    }
                    // SAFETY: ours (taken above), live, in no list.
                    let req = unsafe { r.get() };
                    let held = req.held().map_or(0, |h| h.to_word());
                    let e = t.entry(fd, held, orphans, &self.waiting);
                    if req.progress() == 0 {
                        req.queue_for_workers();
                    }
                    // SAFETY: as above; the table owns it again.
                    unsafe { e.lists[dir_of(&req)].push_front(r) };
                    self.waiting.fetch_add(1, SeqCst);
                }
                self.dismiss(Some(ep), &mut t.by_fd, fd, orphans);
            }
            for (r, res) in taken.into_iter().zip(results) {
                if let (Some(r), Some(n)) = (r, res) {
                    done(r, n);
                }
            }
        }
    }

    /// Arms `fd`'s registration again for what is parked on it, or removes it (and the entry) if
    /// nothing is; a registration that cannot be armed sends its requests to `orphans`. Without
    /// `ep` (lost) only forgets an empty entry. Under the table lock.
    fn dismiss(&self, ep: Option<c_int>, by_fd: &mut ByFd, fd: c_int, orphans: &mut List) {
        let Some(e) = by_fd.get_mut(&fd) else { return };
        let ok = match ep {
            Some(ep) => arm(ep, fd, e).is_ok(),
            None => true,
        };
        if !ok {
            for l in &mut e.lists {
                let n = l.len() as u32;
                orphans.append(core::mem::replace(l, List::new()));
                self.waiting.fetch_sub(n, SeqCst);
            }
            if let (Some(ep), true) = (ep, e.registered) {
                let _ = sys::epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd, 0, 0);
            }
        }
        if e.lists.iter().all(List::is_empty) {
            by_fd.remove(&fd);
        }
    }

    /// `aio_cancel` of `r` (live for the call): takes it out if it is parked and has transferred
    /// nothing; the caller then owns it. Other requests whose registration could not be armed go
    /// to `orphans`.
    pub(crate) fn remove(&self, r: ReqPtr, orphans: &mut List) -> bool {
        // SAFETY: live for the call (caller); read only, until taken out under the lock.
        let req = unsafe { r.get() };
        let Some(h) = req.held() else { return false };
        let fd = h.fd();
        let mut g = self.table.lock();
        let ep = g.instance(&self.ep, orphans, &self.waiting);
        // Phase and membership change only under this lock while the request is parked.
        if req.state().phase() != Phase::Queued {
            return false;
        }
        let Some(e) = g.by_fd.get_mut(&fd) else { return false };
        if !e.lists[dir_of(&req)].remove(r) {
            return false;
        }
        self.waiting.fetch_sub(1, SeqCst);
        self.dismiss(ep, &mut g.by_fd, fd, orphans);
        true
    }

    /// `aio_cancel(fdn, NULL)`: takes out every parked request on the program's number `fdn` that
    /// has transferred nothing; the caller owns them.
    pub(crate) fn take_on_fd(&self, fdn: c_int, orphans: &mut List) -> List {
        let mut out = List::new();
        if !self.waiting() {
            return out;
        }
        let mut g = self.table.lock();
        let ep = g.instance(&self.ep, orphans, &self.waiting);
        let mut changed = Vec::new();
        for (&fd, e) in g.by_fd.iter_mut() {
            for l in &mut e.lists {
                let mine = l.drain_filter(|r| {
                    // SAFETY: members of the table are live.
                    let req = unsafe { r.get() };
                    req.fd() == fdn && req.state().phase() == Phase::Queued
                });
                if !mine.is_empty() {
                    self.waiting.fetch_sub(mine.len() as u32, SeqCst);
                    out.append(mine);
                    changed.push(fd);
                }
            }
        }
        for fd in changed {
            self.dismiss(ep, &mut g.by_fd, fd, orphans);
        }
        out
    }

    /// The poller: the current epoll instance, checked (None if it was lost: then
    /// [`Ready::drain_all`]); requests registered in an earlier instance go to `orphans`.
    pub(crate) fn instance(&self, orphans: &mut List) -> Option<c_int> {
        self.table.lock().instance(&self.ep, orphans, &self.waiting)
    }

    /// Every parked request (the epoll instance was lost, and its registrations with it), for the
    /// workers.
    pub(crate) fn drain_all(&self) -> List {
        let mut out = List::new();
        let mut g = self.table.lock();
        for (_, e) in g.by_fd.drain() {
            for l in e.lists {
                self.waiting.fetch_sub(l.len() as u32, SeqCst);
                out.append(l);
            }
        }
        out
    }
}

/// Registers `fd` in `ep` for the directions that have parked requests, one shot, or removes it
/// when none has.
fn arm(ep: c_int, fd: c_int, e: &mut Entry) -> Result<(), Errno> {
    let events = if e.lists[0].is_empty() { 0 } else { IN } | if e.lists[1].is_empty() { 0 } else { OUT };
    if events == 0 {
        if e.registered {
            // Our number, unless the program took it (then the kernel answers EBADF, or ENOENT
            // for a file of the program's that is not in our set: nothing of the program's is
            // touched either way).
            let _ = sys::epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd, 0, 0);
            e.registered = false;
        }
        return Ok(());
    }
    if e.defer != 0 {
        // Left to its completion queue's harvest (`defer`): the poller arms it when time is up.
        return Ok(());
    }
    let events = events | libc::EPOLLONESHOT as u32;
    let data = (e.seq as u64) << 32 | fd as u32 as u64;
    if e.registered {
        return sys::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, events, data);
    }
    match sys::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, events, data) {
        // An earlier registration of this number and file outlived its duplicate (closed behind
        // our back while the program kept the file open): take it over.
        Err(e) if e.0 == libc::EEXIST => sys::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, events, data)?,
        r => r?,
    }
    e.registered = true;
    Ok(())
}

/// The poller's attempt for a parked request whose fd is ready: non-blocking transfers until it
/// is finished or nothing more moves (a write continues from its progress).
pub(crate) fn attempt_ready(req: &Req<'_>) -> Step {
    let write = req.meta().op().is_write();
    let mut done = req.progress();
    loop {
        if !holds_its_file(req) {
            return Step::Done(if done > 0 { done as isize } else { -(libc::ECANCELED as isize) });
        }
        // SAFETY: the rest of the caller's buffer or iovec array, valid while in flight.
        let n = unsafe { stream_transfer(req.target_fd(), write, req.span(done), true) };
        if n >= 0 {
            done += n as usize;
            if !write || n == 0 || req.span(done).is_none() {
                return Step::Done(done as isize);
            }
            continue;
        }
        match -n as i32 {
            libc::EAGAIN => {
                req.set_progress(done);
                return Step::Again;
            }
            libc::EOPNOTSUPP if done == 0 => return Step::Unsupported,
            libc::EINTR => {}
            _ => return Step::Done(if done > 0 { done as isize } else { n }),
        }
    }
}

/// An empty iovec, for [`iovecs`] to fill.
pub(crate) const NO_IOVEC: libc::iovec = libc::iovec { iov_base: core::ptr::null_mut(), iov_len: 0 };

/// The iovec entries a span describes, for a call that takes an array: the request's own array,
/// or `one`, filled in to describe its one buffer. None when there is nothing to transfer.
pub(crate) fn iovecs(span: Option<Span>, one: &mut libc::iovec) -> Option<(*const libc::iovec, usize)> {
    match span? {
        Span::Buf(b, len) => {
            *one = libc::iovec { iov_base: b.cast(), iov_len: len };
            Some((one as *const libc::iovec, 1))
        }
        Span::Vec(v, c) => Some((v, c)),
    }
}

/// One transfer on a stream at its position, without waiting when `nowait`: `RWF_NOWAIT`, or, on
/// a socket whose kernel refuses that flag, `recvmsg`/`sendmsg` with `MSG_DONTWAIT` (the open
/// file's flags are never changed). EOPNOTSUPP when there is no per-call non-blocking way.
///
/// # Safety
/// The span describes the caller's memory, valid (writable for a read) for the call.
pub(crate) unsafe fn stream_transfer(fd: c_int, write: bool, span: Option<Span>, nowait: bool) -> isize {
    // SAFETY: the span describes valid memory (caller).
    let n = unsafe { transfer(fd, write, span, -1, nowait) };
    if n != -(libc::EOPNOTSUPP as isize) || !nowait {
        return n;
    }
    let mut one = NO_IOVEC;
    let Some((iov, cnt)) = iovecs(span, &mut one) else { return 0 };
    // SAFETY: as above: the entries describe the caller's memory.
    match unsafe { sys::sock_transfer(fd, write, iov, cnt) } {
        e if e == -(libc::ENOTSOCK as isize) => n,
        m => m,
    }
}

/// One transfer of `span` (what is left of a request) at `off` (-1: the file position, or a
/// stream): a byte count or `-errno`; 0 when nothing is left.
///
/// # Safety
/// The span describes the caller's memory, valid (writable for a read) for the call.
pub(crate) unsafe fn transfer(fd: c_int, write: bool, span: Option<Span>, off: i64, nowait: bool) -> isize {
    // SAFETY: the span describes valid memory (caller).
    unsafe {
        match span {
            Some(Span::Buf(b, len)) if off == -1 => sys::transfer(fd, !write, b, len, nowait),
            Some(Span::Buf(b, len)) => sys::transfer_one(fd, write, b, len, off, nowait),
            Some(Span::Vec(v, n)) => sys::transfer_vec(fd, write, v, n, off, nowait),
            None => 0,
        }
    }
}

/// Whether the request's held duplicate is still ours (a request without one uses the caller's
/// number as it is).
pub(crate) fn holds_its_file(req: &Req<'_>) -> bool {
    req.held().is_none_or(sys::held_ok)
}
