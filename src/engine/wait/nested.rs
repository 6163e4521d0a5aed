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
    static SOURCE: AtomicUsize = const { AtomicUsize::new(0) };
}

fn addr(r: ReqPtr) -> usize {
    r.as_ptr() as usize
}

/// A fresh claim of `r` may be made by this wait (no wait of this thread holds one): the word
/// now names it BUSY. Call [`end_claim`] if the claim is not made after all.
pub(super) fn begin_claim(r: ReqPtr) -> bool {
    CLAIM.with(|w| w.compare_exchange(0, addr(r) | BUSY, SeqCst, SeqCst).is_ok())
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

/// A wait took the reap lock of source `k` of `qi`: true if it is the only such wait on this
/// thread (it then publishes it at rest, [`rest_source`], and clears it, [`end_source`]).
pub(super) fn begin_source(qi: usize, k: Backend) -> bool {
    SOURCE.with(|w| w.compare_exchange(0, source_code(qi, k) | BUSY, SeqCst, SeqCst).is_ok())
}

/// The holder of source `k` of `qi` (published) is about to sleep on it.
pub(super) fn rest_source(qi: usize, k: Backend) {
    SOURCE.with(|w| w.store(source_code(qi, k), SeqCst));
}

/// The holder (published) is about to touch its source again; no borrower is running (it would
/// have returned the lock before the holder could run).
pub(super) fn source_busy(qi: usize, k: Backend) {
    SOURCE.with(|w| w.store(source_code(qi, k) | BUSY, SeqCst));
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
        assert!(begin_claim(r));
        assert!(!begin_claim(ReqPtr::new(&mut *b).unwrap()), "one claim per thread");
        assert!(take_claim(&list).is_none(), "busy: not taken");
        rest_claim(r);
        assert!(take_claim(&[&*b as *const Aiocb]).is_none(), "not awaited: not taken");
        assert!(use_claim(r), "the owner resumes");
        assert!(use_claim(r), "its own BUSY");
        rest_claim(r);
        assert_eq!(take_claim(&list), Some(r));
        lost_claim();
        assert!(!begin_claim(r), "no fresh claim before the owner forgot");
        assert!(!use_claim(r), "taken: the owner forgets it");
        assert!(begin_claim(r), "cleared");
        end_claim();
    }

    #[test]
    fn a_nested_wait_borrows_only_a_resting_source() {
        assert!(begin_source(3, Backend::Kaio));
        assert!(!begin_source(1, Backend::Uring), "one published source per thread");
        assert!(!borrow_source(3, Backend::Kaio), "busy");
        rest_source(3, Backend::Kaio);
        assert!(!borrow_source(3, Backend::Uring), "another source");
        assert!(borrow_source(3, Backend::Kaio));
        assert!(!borrow_source(3, Backend::Kaio), "lent already");
        return_source(3, Backend::Kaio);
        source_busy(3, Backend::Kaio);
        end_source();
        assert!(begin_source(1, Backend::Uring));
        end_source();
    }
}
