//! Waits nested on one thread: a signal handler that interrupts a wait and itself waits, in
//! `aio_suspend`, for a request that the interrupted wait holds. Two things can be held that way:
//! a claimed stream read (`local`), and the reap lock of the kernel source the interrupted wait
//! sleeps on (`Wait::sleep_on_source`). Nobody else can complete such a request (the claim keeps
//! it from the poller, the lock keeps the helper from the source), and the interrupted wait
//! cannot run until the handler returns; so the nested wait must make progress with it itself.
//!
//! Each thread has two words, which only that thread touches (the interrupted wait and the
//! handlers that interrupt it; a handler runs to its end before the code it interrupted goes on,
//! so the words change under a wait only between two of its own instructions, never during
//! one: the atomics make each access one instruction, and order it with the surrounding code).
//!
//! * `CLAIM` names the request a wait of this thread has claimed: 0 (none), its address while
//!   that wait is asleep (or between its steps: at rest), the address `| BUSY` while that wait
//!   works on it (its non-blocking attempt, finishing it, giving it back, reading its file), or
//!   `LOST` once a nested wait has taken it from the interrupted one.
//!
//!   A nested wait that awaits the request named at rest takes it (`take_claim`: the CAS
//!   address -> address | BUSY, which succeeds only while the owner is at rest), gives it back
//!   to the readiness set (or to the helper; `Queue::give_back_claimed`), so that the poller
//!   completes it and wakes every waiter, and leaves `LOST`. The owner, before each use of its
//!   claim (`use_claim`), makes the CAS address -> address | BUSY itself: it succeeds (or finds
//!   its own BUSY: it had not come to rest) and the claim is still its own, or it finds `LOST`
//!   and forgets the request without touching it: the request may be finished, and its aiocb
//!   reused for a new request at the same address, by then. No ABA: a wait claims afresh only
//!   from 0 (`begin_claim`), and `LOST` goes back to 0 only when the owner, having found it,
//!   forgets its claim; so while the owner is interrupted, nobody else can write its address.
//!   Exactly once: the CAS lets exactly one of the owner and the nested wait act on the claim
//!   after the owner's last rest; the one that acts either finishes it once or gives it back.
//!
//! * `SOURCE` names the kernel source whose reap lock a wait of this thread holds: 0, its code
//!   (`source_code`) while that wait is at rest (asleep on the source), or the code `| BUSY`
//!   while that wait reaps (or borrows nothing). A nested wait for requests in that source,
//!   finding its lock busy, borrows the lock (`borrow_source`: CAS code -> code | BUSY): it reaps
//!   and sleeps on the source as if it held the lock, which is sound because the holder is
//!   interrupted at rest (it touches the source only after setting BUSY, `source_busy`, and no
//!   handler can then borrow), and gives it back (`return_source`: the code again) before the
//!   handler returns. The holder, once it resumes, finds its lock as it left it; a completion the
//!   borrower drained from the kernel AIO eventfd before the holder went into `ppoll` is signalled
//!   again by the borrower, and a ring the borrower reaped is slept on by the holder at most
//!   `RING_SLEEP_CAP` more.
//!
//! * `FRAME` is the address of the `Wait` that made the claim `CLAIM` names (set by
//!   `begin_claim`, while the word is BUSY), and `SOURCE_FRAME` that of the wait that published
//!   the source `SOURCE` names. They tell a wait that is gone from one that is interrupted: see
//!   "A wait that never came back" below.
//!
//! # A wait that never came back
//!
//! A signal handler may leave the wait it interrupted with `siglongjmp` (allowed: `aio_suspend`
//! is async-signal-safe). Nothing of that wait runs again: its claim stays in the word, at rest
//! (or `LOST`, if a wait of the handler took it before the jump), and its request, out of the
//! readiness set, would complete only if this thread waited for it again. A later wait of the
//! thread recovers it ([`take_abandoned`], from `Wait::free_interrupted_claim`): if the word is
//! at rest or `LOST` and the claiming wait's frame is gone, it takes the claim with the same CAS a
//! nested wait uses (address -> address | BUSY), gives the request back to its readiness set (the
//! poller completes it once), and clears the word, so the thread claims again.
//!
//! A source's reap lock is left the same way, held by a guard nobody will drop, and with it every
//! completion in that source (its helper and other waiters only try the lock). A later wait of
//! the thread that finds `SOURCE` at rest with its frame gone takes it over
//! ([`take_abandoned_source`], the borrowers' CAS), releases the lock
//! (`Wait::recover_abandoned_source`), wakes the queue's helper and signals a kernel AIO eventfd
//! the holder may have drained, and clears the word. Were the judgement wrong, the holder would
//! find on resuming that its word is no longer its own (`source_busy`'s CAS fails), forget its
//! guard and touch the source no more.
//!
//! When is the frame gone? A `Wait` lives in the frame of the call that waits (the C frame of
//! `aio_suspend`, `posix::frame`; `run`'s for the library's own waits) until the wait ends, and
//! every frame that wait, or a handler interrupting it, pushes on the same stack lies below that
//! address (the stack grows down; the kernel puts a handler's frame below the interrupted stack
//! pointer). So while the claiming wait lives, a wait that runs on the same stack has its `Wait`
//! at a lower address: one at `FRAME` or above runs where the claimant's frame was, and the
//! claimant is gone. A handler may run on the alternate signal stack, whose addresses say nothing
//! about the thread's stack: a wait on the alternate stack (`sys::alt_stack`) judges only a claim
//! made there too (`FRAME` inside its range); a wait on the thread's stack judges any, because a
//! living claimant on the alternate stack would have this wait nested in it, on that stack too.
//! The query is one system call, made only when a claim is found at rest or `LOST` with `FRAME`
//! not above the caller's `Wait`: never on the way of a wait that claims nothing abandoned.
//!
//! Even a wrong judgement (a handler that moved to a stack of its own, `swapcontext`, or an
//! alternate stack armed with `SS_AUTODISARM`, which the kernel then reports as none) keeps every
//! request exactly once: the recovery acts only after winning the CAS, as a nested wait does, and
//! a living owner that resumes finds the word not its own and forgets its request, untouched
//! (`use_claim`). It only costs that owner its claim. A claim abandoned while BUSY (the handler
//! jumped out of the few microseconds in which its owner works on it) is not recovered: what the
//! owner had done cannot be known. The thread then claims no more, and a request the jump left
//! claimed is never completed (listed in aio_rs(7)).
//!
//! What still makes a nested wait wait for its timeout: a signal that lands while the owner is
//! BUSY (its check that the held file is still the request's and its non-blocking attempt, or its
//! reap: a few microseconds; a handler that keeps landing there, one signal right after another,
//! keeps the owner from ever leaving it), a third level of nesting on a borrowed source, and a
//! nested wait for requests in more than one place, one of them in the source the interrupted
//! wait holds (a claim, by contrast, is taken and given back for any list that names it).

use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering::SeqCst;

use crate::abi::Aiocb;
use crate::engine::request::{Backend, ReqPtr};

/// Set in a word while its owner works on what it names.
const BUSY: usize = 1;
/// `CLAIM`: the interrupted wait's claim was taken by a nested wait.
const LOST: usize = 2;

thread_local! {
    static CLAIM: AtomicUsize = const { AtomicUsize::new(0) };
    static FRAME: AtomicUsize = const { AtomicUsize::new(0) };
    static SOURCE_FRAME: AtomicUsize = const { AtomicUsize::new(0) };
    static SOURCE: AtomicUsize = const { AtomicUsize::new(0) };
}

fn addr(r: ReqPtr) -> usize {
    r.as_ptr() as usize
}

/// A fresh claim of `r` may be made by the wait at `frame` (its address; no wait of this thread
/// holds one): the word now names it BUSY. Call [`end_claim`] if the claim is not made after all.
pub(super) fn begin_claim(r: ReqPtr, frame: usize) -> bool {
    let ok = CLAIM.with(|w| w.compare_exchange(0, addr(r) | BUSY, SeqCst, SeqCst).is_ok());
    if ok {
        // While BUSY: nobody reads it before the claim comes to rest.
        FRAME.with(|f| f.store(frame, SeqCst));
    }
    ok
}

/// Whether the wait whose `Wait` was at `claimant` is gone, judged by a wait whose `Wait` is at
/// `now` (see "A wait that never came back").
fn frame_gone(now: usize, claimant: usize) -> bool {
    if now < claimant {
        return false;
    }
    match crate::sys::alt_stack() {
        Some((true, lo, hi)) => (lo..hi).contains(&claimant),
        _ => true,
    }
}

/// A wait at `frame` (its address), which holds no claim itself: if this thread's word holds a
/// claim whose wait is gone (see "A wait that never came back"), takes it. `Some(Some(r))`: the
/// caller owns claimed `r`, gives it back to its readiness set, then calls [`end_claim`];
/// `Some(None)`: it had been given back already (`LOST`) and the word is clear. None: nothing
/// abandoned (one load when the word is clear).
pub(super) fn take_abandoned(frame: usize) -> Option<Option<ReqPtr>> {
    let v = CLAIM.with(|w| w.load(SeqCst));
    if v == 0 || v & BUSY != 0 || !frame_gone(frame, FRAME.with(|f| f.load(SeqCst))) {
        return None;
    }
    CLAIM.with(|w| {
        if v == LOST {
            return w.compare_exchange(LOST, 0, SeqCst, SeqCst).ok().map(|_| None);
        }
        w.compare_exchange(v, v | BUSY, SeqCst, SeqCst).ok()?;
        Some(ReqPtr::new(v as *mut Aiocb))
    })
}

/// The owner of the claim on `r` comes to rest (it is about to sleep).
pub(super) fn rest_claim(r: ReqPtr) {
    CLAIM.with(|w| w.store(addr(r), SeqCst));
}

/// The owner of the claim on `r` is about to use it: true if it still holds it (the word now
/// names it BUSY); false if a nested wait took it (the word is cleared: the owner forgets it).
pub(super) fn use_claim(r: ReqPtr) -> bool {
    CLAIM.with(|w| match w.compare_exchange(addr(r), addr(r) | BUSY, SeqCst, SeqCst) {
        Ok(_) => true,
        Err(v) if v == addr(r) | BUSY => true,
        Err(_) => {
            w.store(0, SeqCst);
            false
        }
    })
}

/// The owner finished or gave back its claim.
pub(super) fn end_claim() {
    CLAIM.with(|w| w.store(0, SeqCst));
}

/// A nested wait for `entries`: if one of them is claimed by an interrupted wait of this thread,
/// at rest, takes it (the caller gives it back, then calls [`lost_claim`]).
pub(super) fn take_claim(entries: &[*const Aiocb]) -> Option<ReqPtr> {
    CLAIM.with(|w| {
        let v = w.load(SeqCst);
        if v == 0 || v & (BUSY | LOST) != 0 || !entries.iter().any(|&p| p as usize == v) {
            return None;
        }
        w.compare_exchange(v, v | BUSY, SeqCst, SeqCst).ok()?;
        ReqPtr::new(v as *mut Aiocb)
    })
}

/// A nested wait gave back the claim it took: the interrupted owner forgets it.
pub(super) fn lost_claim() {
    CLAIM.with(|w| w.store(LOST, SeqCst));
}

/// The code of kernel source `k` of queue `qi` (nonzero, BUSY clear).
fn source_code(qi: usize, k: Backend) -> usize {
    ((qi << 1 | usize::from(k == Backend::Kaio)) + 1) << 1
}

/// The wait at `frame` (its address) took the reap lock of source `k` of `qi`: true if it is the
/// only such wait on this thread (it then publishes it at rest, [`rest_source`], and clears it,
/// [`end_source`]).
pub(super) fn begin_source(qi: usize, k: Backend, frame: usize) -> bool {
    let ok = SOURCE.with(|w| w.compare_exchange(0, source_code(qi, k) | BUSY, SeqCst, SeqCst).is_ok());
    if ok {
        SOURCE_FRAME.with(|f| f.store(frame, SeqCst));
    }
    ok
}

/// A wait at `frame` that holds no published source: if this thread's word names a source whose
/// holder is gone (at rest, its frame gone: see "A wait that never came back"), takes it: the
/// caller owns that source's reap lock (held by a guard nobody will drop), releases it, then calls
/// [`end_source`]. None: nothing abandoned (one load when the word is clear).
pub(super) fn take_abandoned_source(frame: usize) -> Option<(usize, Backend)> {
    let v = SOURCE.with(|w| w.load(SeqCst));
    if v == 0 || v & BUSY != 0 || !frame_gone(frame, SOURCE_FRAME.with(|f| f.load(SeqCst))) {
        return None;
    }
    SOURCE.with(|w| w.compare_exchange(v, v | BUSY, SeqCst, SeqCst)).ok()?;
    let x = (v >> 1) - 1;
    Some((x >> 1, if x & 1 != 0 { Backend::Kaio } else { Backend::Uring }))
}

/// The holder of source `k` of `qi` (published) is about to sleep on it.
pub(super) fn rest_source(qi: usize, k: Backend) {
    SOURCE.with(|w| w.store(source_code(qi, k), SeqCst));
}

/// The holder (published) is about to touch its source again; no borrower is running (it would
/// have returned the lock before the holder could run, or it is gone and left it BUSY). False if
/// a later wait took the lock as abandoned ([`take_abandoned_source`], a wrong judgement): the
/// holder then forgets its guard and touches the source no more.
pub(super) fn source_busy(qi: usize, k: Backend) -> bool {
    let c = source_code(qi, k);
    SOURCE.with(|w| match w.compare_exchange(c, c | BUSY, SeqCst, SeqCst) {
        Ok(_) => true,
        Err(v) => v == c | BUSY,
    })
}

/// The holder (published) released its lock.
pub(super) fn end_source() {
    SOURCE.with(|w| w.store(0, SeqCst));
}

/// A nested wait whose lock attempt on source `k` of `qi` failed: true if an interrupted wait of
/// this thread holds it at rest, lent to the caller until [`return_source`].
pub(super) fn borrow_source(qi: usize, k: Backend) -> bool {
    let c = source_code(qi, k);
    SOURCE.with(|w| w.compare_exchange(c, c | BUSY, SeqCst, SeqCst).is_ok())
}

/// Gives a borrowed lock back to the interrupted holder (at rest, as it left it).
pub(super) fn return_source(qi: usize, k: Backend) {
    rest_source(qi, k);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cb() -> Box<Aiocb> {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        Box::new(unsafe { core::mem::zeroed::<Aiocb>() })
    }

    /// The claim word, as an interrupted owner and a nested wait see it (one thread: the nested
    /// calls run between the owner's, as a handler's would).
    #[test]
    fn a_nested_wait_takes_only_a_resting_claim_and_the_owner_then_forgets_it() {
        let (mut a, mut b) = (cb(), cb());
        let r = ReqPtr::new(&mut *a).unwrap();
        let list = [r.as_ptr() as *const Aiocb];
        assert!(begin_claim(r, 1000));
        assert!(!begin_claim(ReqPtr::new(&mut *b).unwrap(), 1000), "one claim per thread");
        assert!(take_claim(&list).is_none(), "busy: not taken");
        rest_claim(r);
        assert!(take_claim(&[&*b as *const Aiocb]).is_none(), "not awaited: not taken");
        assert!(use_claim(r), "the owner resumes");
        assert!(use_claim(r), "its own BUSY");
        rest_claim(r);
        assert_eq!(take_claim(&list), Some(r));
        lost_claim();
        assert!(!begin_claim(r, 1000), "no fresh claim before the owner forgot");
        assert!(!use_claim(r), "taken: the owner forgets it");
        assert!(begin_claim(r, 1000), "cleared");
        end_claim();
    }

    /// A claim whose wait is gone (the frame at or below a later wait's) is taken back once; one
    /// whose wait may be interrupted (above), or that its owner works on (BUSY), is not.
    #[test]
    fn an_abandoned_claim_is_taken_back_by_a_later_wait() {
        let mut a = cb();
        let r = ReqPtr::new(&mut *a).unwrap();
        assert_eq!(take_abandoned(5000), None, "nothing claimed");
        assert!(begin_claim(r, 4000));
        assert_eq!(take_abandoned(5000), None, "busy");
        rest_claim(r);
        assert_eq!(take_abandoned(3000), None, "a wait nested in the claimant's");
        assert_eq!(take_abandoned(4000), Some(Some(r)), "gone: taken");
        assert_eq!(take_abandoned(5000), None, "once");
        end_claim();
        assert!(begin_claim(r, 4000), "the thread claims again");
        rest_claim(r);
        assert_eq!(take_claim(&[r.as_ptr() as *const Aiocb]), Some(r));
        lost_claim();
        assert_eq!(take_abandoned(3000), None, "lost, the owner may still come back");
        assert_eq!(take_abandoned(4096), Some(None), "lost, and the owner is gone");
        assert!(begin_claim(r, 4000), "cleared");
        end_claim();
    }

    #[test]
    fn a_nested_wait_borrows_only_a_resting_source() {
        assert!(begin_source(3, Backend::Kaio, 1000));
        assert!(!begin_source(1, Backend::Uring, 1000), "one published source per thread");
        assert!(!borrow_source(3, Backend::Kaio), "busy");
        rest_source(3, Backend::Kaio);
        assert!(!borrow_source(3, Backend::Uring), "another source");
        assert!(borrow_source(3, Backend::Kaio));
        assert!(!borrow_source(3, Backend::Kaio), "lent already");
        return_source(3, Backend::Kaio);
        assert!(source_busy(3, Backend::Kaio));
        end_source();
        assert!(begin_source(1, Backend::Uring, 1000));
        end_source();
    }

    /// A source whose holder is gone is taken over once; the holder, were it alive after all,
    /// finds that out.
    #[test]
    fn an_abandoned_source_is_taken_over_by_a_later_wait() {
        assert!(begin_source(5, Backend::Kaio, 4000));
        assert_eq!(take_abandoned_source(5000), None, "busy");
        rest_source(5, Backend::Kaio);
        assert_eq!(take_abandoned_source(3000), None, "a wait nested in the holder's");
        assert_eq!(take_abandoned_source(4000), Some((5, Backend::Kaio)));
        assert_eq!(take_abandoned_source(4000), None, "once");
        end_source();
        assert!(!source_busy(5, Backend::Kaio), "the holder, had it come back, lets go");
        assert!(begin_source(2, Backend::Uring, 4000));
        rest_source(2, Backend::Uring);
        assert_eq!(take_abandoned_source(8000), Some((2, Backend::Uring)));
        end_source();
    }
}
