//! Each queue's helper thread (`aio-rs-h<N>`): issues requests deferred by contexts that could not
//! (a reaper in a signal handler, a thread's exit), re-evaluates fds whose lock a reaper could not
//! take, flushes batches of deferred reads left pending (`deferred::tick`, every 500 µs while
//! reads are being deferred), frees lio groups released where `free` was not allowed, starts
//! workers (and retries when a thread could not be created, running queued file requests itself
//! meanwhile: `Pool::grow_or_serve`), takes kernel completions that nobody
//! reaps so that their status fields in the caller's aiocb become current ([`Fields`], a tick
//! while kernel requests are in flight), and reaps the kernel queue wholly only while someone must be told of a
//! completion that nobody may be waiting for: the queue's `watch` count covers requests with a
//! notification, lio groups with a notification, fsyncs, stream writes larger than `PIPE_BUF`, and
//! waiters that cannot reap the queue themselves; and while any request is parked on an fd every
//! helper watches. The helper sleeps on a futex while it watches nothing (`sys::Doorbell`), and in
//! `poll` on its eventfd, the ring fd and the kernel AIO eventfd that every iocb signals while it
//! watches (or while work waits for workers that could not be started), each descriptor checked
//! to be ours first, with a timeout.

use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use super::backend::uring;
use super::batch::Batch;
use super::complete::{ready_to_reissue, reap_source};
use super::core::{Engine, INIT};
use super::deferred;
use super::fd;
use super::group::Group;
use super::queue::{Look, Queue};
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
    let mut fields = Fields::default();
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
        // Work that no worker will look at while a worker's thread could not be made: a worker is
        // tried again, or the helper runs queued file requests itself, a few per round
        // (`Pool::grow_or_serve`); then it comes back without sleeping.
        let asked = q.pool.take_grow_request();
        let served = match q.pool.stranded() {
            true => q.pool.grow_or_serve(q.host(eng)),
            false => {
                if asked {
                    q.pool.grow(q.host(eng));
                }
                false
            }
        };
        // A stall check the workers armed: made when due, else sleep no longer than that.
        let stall = q.pool.stall_check(q.host(eng));
        // A batch of deferred reads left pending: flushed within two ticks.
        //
        // Why two ticks (this one and `Fields::tick` below) and not one: they already share one
        // timer, this loop's single sleep (the earliest of the stall check and both ticks), so
        // what stays apart is their state, and merging it would cost more than it saves. Their
        // periods answer different questions: a pending batch is flushed two fixed 500 µs ticks
        // after it appeared (its reads' latency when nobody asks), while the fields tick backs
        // off to 4 ms while the program reaps its own completions (about 250 wake-ups a second
        // instead of 2000) and rechecks after 250 µs only what nobody sleeps on. Their starts are
        // two hand-shakes on two paths: a deferral into an empty batch (`Pending::ticking`) and a
        // request put into a kernel source (`Queue::kernel_issued`); deferred reads are not
        // counted in the context's `in_flight` (only in `Pending::outstanding`), so one tick for
        // both would have to count them there too, a SeqCst read-modify-write per flushed batch
        // and per reap on the deferred path, and would delay the rare deferred read that did not complete inside `io_submit` from one tick to
        // the fields tick's two looks. The let-go of kept duplicates rides on the deferred tick's
        // idle count, which only deferrals reset.
        let tick = deferred::tick(eng, q, &mut last, &mut idle);
        let stall = match (stall, tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A worker that holds back wake-ups may be stuck in a request (see `Pool::hold_wake`).
        if q.pool.holding() {
            eng.wake_waiters(qi);
        }
        let watching = q.watching(eng.force_watching());
        // Kernel completions nobody reaps: their status fields made current within two ticks
        // (a watching helper reaps everything itself).
        let (ftick, quiet) = if watching { (None, false) } else { fields.tick(eng, q) };
        let stall = match (stall, ftick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let watching = watching || quiet;
        // Watch each kernel source whose reap lock we get; if a waiter holds one, it wakes us
        // when it lets go (`Queue::release_reap`).
        let mut poll = [false; 2];
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
        if !q.deferred.is_empty() || !q.kicks.is_empty() || served {
            continue;
        }
        // Work queued for workers that could not be started: try again after a while.
        let retry_workers = q.pool.stranded();
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

/// How often the helper looks at its queue's kernel completion rings while requests are in them,
/// at least: after it had to reap completions itself (nobody else does: the program polls the
/// fields), and when it starts.
const FIELD_TICK: Duration = Duration::from_millis(1);
/// ... and at most: the tick doubles up to this while someone else reaps the rings (the program
/// waits for its requests), which a completion it leaves waits for at worst.
const FIELD_TICK_MAX: Duration = Duration::from_millis(4);
/// How long after the last request left the kernel sources the helper goes on ticking: a program
/// that keeps one request at a time in flight does not wake it once per request.
const FIELD_IDLE: Duration = Duration::from_millis(100);
/// How soon the helper looks again when it found completions that were not there at its last
/// look and nobody holds their source's reap lock (nobody sleeps there to reap them).
const FIELD_RECHECK: Duration = Duration::from_micros(250);
/// No completion seen for this long while requests are in flight (a socket read under io_uring,
/// a slow device): the helper sleeps on the sources, with `POLL_MS`, instead of ticking.
const QUIET: Duration = Duration::from_millis(100);

/// The helper's tick that keeps the caller's status fields (`__error_code`, `__return_value`)
/// current for kernel completions that nobody reaps: a SIGEV_NONE request on kernel AIO or
/// io_uring whose program calls nothing of the library (it polls the aiocb's fields, or another
/// process or a debugger reads them). Whoever waits reaps its own completions (see
/// `engine::wait`); the helper takes only what was left: completions that were in the ring at
/// one look and still are at the next, with no completion taken from that ring in between (its
/// `reaped` count unchanged), i.e. nobody is reaping it. Completions seen for the first time
/// while nobody holds the source's reap lock (nobody sleeps there: a sleeper holds it, and is
/// woken by the completion) are looked at again `FIELD_RECHECK` later, others at the next tick.
/// The reap lock is only tried: a holder sleeps on the source, or is reaping; a completion that
/// arrives just after a reaper's look is seen at a later tick. The tick is `FIELD_TICK` after
/// the helper reaped, and doubles up to `FIELD_TICK_MAX` while others reap (`next_tick`). A
/// completion nobody reaps so waits about a tick plus `FIELD_RECHECK` (plus the helper's
/// scheduling), and a program that reaps its own completions pays the ticks only (no wake-up
/// per request).
///
/// The helper ticks only while requests are in its queue's kernel sources and for `FIELD_IDLE`
/// after (see `Queue::kernel_issued` for the hand-shake that wakes it when it stopped), and
/// sleeps on the sources instead while no completion appeared for `QUIET`.
#[derive(Default)]
pub(crate) struct Fields {
    /// Ticking (the queue's `kticking` was seen 1 and the state below is current).
    on: bool,
    /// When the sources are to be looked at next.
    next: Duration,
    /// The tick now (see `next_tick`).
    tick: Duration,
    /// What each source (io_uring, kernel AIO) showed at the last look (after the helper's reap).
    last: [Option<Look>; 2],
    /// When a request was last seen in flight.
    busy_at: Duration,
    /// When a completion was last seen (in a ring, or taken by someone).
    active: Duration,
}

impl Fields {
    /// The helper's part, at each of its rounds: looks if a tick is due. Returns how long until
    /// the next look (None: not ticking) and whether the helper should sleep on the sources
    /// (quiet: requests in flight and no completion for `QUIET`).
    fn tick(&mut self, eng: &Engine, q: &Queue) -> (Option<Duration>, bool) {
        if q.kticking().load(SeqCst) == 0 {
            self.on = false;
            return (None, false);
        }
        let now = sys::now();
        if !self.on {
            *self = Fields { on: true, tick: FIELD_TICK, busy_at: now, active: now, ..Fields::default() };
        } else if now < self.next {
            return (Some(self.next - now), false);
        }
        let (mut busy, mut fresh, mut took, mut others) = (false, false, false, false);
        for (i, k) in [Backend::Uring, Backend::Kaio].into_iter().enumerate() {
            let Some(mut l) = q.look(k) else { continue };
            busy |= l.in_flight;
            let prev = self.last[i];
            let moved = prev.is_some_and(|p| p.reaped != l.reaped);
            others |= moved;
            if l.entries || moved {
                self.active = now;
            }
            // New completions that nobody sleeps on the source for: looked at again soon.
            fresh |= l.entries && !l.held && !prev.is_some_and(|p| p.entries);
            if Self::left(prev, l) {
                // A plain try: a busy lock's holder reaps (see above); `helper_try_reap` would
                // make its release wake us.
                if let Some(g) = q.reap_lock(k).and_then(|lk| lk.try_lock()) {
                    // SAFETY: the source's reap lock is held (g).
                    unsafe { reap_source(eng, q, k, true) };
                    q.release_reap(g);
                    took = true;
                    l = q.look(k).unwrap_or(l);
                }
            }
            self.last[i] = Some(l);
        }
        if busy {
            self.busy_at = now;
        } else if now >= self.busy_at + FIELD_IDLE {
            // The hand-shake (see `Queue::kernel_issued`): stop, then look once more.
            q.kticking().store(0, SeqCst);
            let again = [Backend::Uring, Backend::Kaio].into_iter().any(|k| q.look(k).is_some_and(|l| l.in_flight));
            if !again {
                self.on = false;
                return (None, false);
            }
            q.kticking().store(1, SeqCst);
            self.busy_at = now;
        }
        if busy && now >= self.active + QUIET {
            return (None, true);
        }
        self.tick = next_tick(self.tick, took, others);
        let d = if fresh { FIELD_RECHECK } else { self.tick };
        self.next = now + d;
        (Some(d), false)
    }

    /// Whether completions have been left in a source between two looks: it shows some now, it
    /// showed some before, and nothing was taken from it in between.
    fn left(prev: Option<Look>, now: Look) -> bool {
        now.entries && prev.is_some_and(|p| p.entries && p.reaped == now.reaped)
    }
}

/// The tick after a look: the shortest once the helper had to reap (`took`: the program does
/// not), doubled (up to `FIELD_TICK_MAX`) while someone else reaps (`others`), else unchanged.
fn next_tick(cur: Duration, took: bool, others: bool) -> Duration {
    if took {
        FIELD_TICK
    } else if others {
        (cur * 2).min(FIELD_TICK_MAX)
    } else {
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(entries: bool, reaped: u32) -> Look {
        Look { in_flight: true, entries, reaped, held: false }
    }

    #[test]
    fn only_completions_left_between_two_looks_are_taken() {
        assert!(!Fields::left(None, look(true, 0)), "first look: wait for the next");
        assert!(!Fields::left(Some(look(false, 0)), look(true, 0)), "arrived since the last look");
        assert!(!Fields::left(Some(look(true, 0)), look(true, 1)), "someone is reaping");
        assert!(!Fields::left(Some(look(true, 0)), look(false, 0)), "nothing there");
        assert!(Fields::left(Some(look(true, 7)), look(true, 7)), "left: nobody reaps");
        assert!(Fields::left(Some(look(true, u32::MAX)), look(true, u32::MAX)));
    }

    #[test]
    fn the_tick_backs_off_while_others_reap_and_is_shortest_after_the_helper_reaped() {
        let ms = Duration::from_millis;
        assert_eq!(next_tick(ms(1), false, true), ms(2));
        assert_eq!(next_tick(ms(2), false, true), ms(4));
        assert_eq!(next_tick(ms(4), false, true), FIELD_TICK_MAX);
        assert_eq!(next_tick(ms(4), false, false), ms(4), "nothing happened: unchanged");
        assert_eq!(next_tick(ms(4), true, true), FIELD_TICK);
    }
}
