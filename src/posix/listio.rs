//! `lio_listio`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/lio_listio.html>.
//!
//! Entries are accepted one by one into a batch that is flushed with one system call per few
//! hundred entries (per queue and engine), never one per entry. Lists of any length are accepted
//! (nothing is copied onto the stack). With LIO_WAIT the caller waits, reaping its own queue; if
//! a signal interrupts the wait it returns EINTR, and the group stays alive until its last member
//! completes, so nothing dangles.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use super::check;
use crate::abi::{Aiocb, SigEvent, LIO_NOP, LIO_NOWAIT, LIO_READ, LIO_WAIT, LIO_WRITE};
use crate::engine::{self, cb::Cb, cb::Op, Batch, Group, WaitSet};
use crate::errno::{boundary, Errno};
use crate::notify::Notify;

/// Flush the batch after this many accepted entries so the first requests start early.
const FLUSH_EVERY: usize = 256;

/// Submits a list of reads and writes; NULL entries and `LIO_NOP` entries are skipped.
///
/// # Safety
/// `list` points to `nent` entries, each NULL or an aiocb kept valid until it completes; `sig` is
/// NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lio_listio(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) -> c_int {
    boundary(-1, || {
        if (mode != LIO_WAIT && mode != LIO_NOWAIT) || nent < 0 || (list.is_null() && nent > 0) {
            return Err(Errno::EINVAL);
        }
        // POSIX: the list notification applies to LIO_NOWAIT only.
        let notify = if mode == LIO_NOWAIT {
            // SAFETY: NULL or readable (caller).
            unsafe { super::notify_of_user(sig) }?
        } else {
            Notify::None
        };
        // SAFETY: nent readable entries (caller).
        let entries = if nent == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(list, nent as usize) } };
        let eng = engine::engine()?;
        let q = eng.local_queue()?;
        let group = Group::new(notify)?;
        let mut failed = false;
        let mut batch = Batch::new(eng, true);
        let mut pending = 0;
        for &p in entries {
            if p.is_null() {
                continue;
            }
            // SAFETY: non-NULL entry (caller); alignment is checked by `check`.
            let opcode = if (p as usize) % 8 == 0 { unsafe { (*p).aio_lio_opcode } } else { -1 };
            let op = match opcode {
                LIO_NOP => continue,
                LIO_READ => Op::Read,
                LIO_WRITE => Op::Write,
                _ => {
                    failed = true;
                    if (p as usize) % 8 == 0 {
                        // SAFETY: a non-NULL, aligned entry is an aiocb (caller).
                        unsafe { fail_entry(Cb(p), Errno::EINVAL) };
                    }
                    continue;
                }
            };
            // SAFETY: forwarded to the caller.
            let r = unsafe { check(p) }.and_then(|(cb, n)| {
                // SAFETY: group is live; add before accept so it can never hit zero early.
                unsafe { Group::add_member(group) };
                // SAFETY: forwarded to the caller.
                let r = unsafe { engine::accept(eng, q, cb, op, &n, group, &mut batch) };
                if r.is_err() {
                    // SAFETY: the member was not accepted: undo its count.
                    unsafe { Group::member_done(eng, group, true) };
                }
                r
            });
            if let Err(e) = r {
                failed = true;
                // SAFETY: check passed alignment or p is an aligned non-NULL pointer.
                unsafe { fail_entry(Cb(p), e) };
                continue;
            }
            pending += 1;
            if pending == FLUSH_EVERY {
                batch.flush();
                pending = 0;
            }
        }
        batch.flush();
        // The submitter's hold: from here the group can complete.
        // SAFETY: group live, we hold a reference.
        unsafe { Group::member_done(eng, group, true) };
        if mode == LIO_NOWAIT {
            // SAFETY: our reference.
            unsafe { Group::release(eng, group, true) };
            return if failed { Err(Errno::EIO) } else { Ok(0) };
        }
        // SAFETY: group is live while we hold our reference.
        let g = unsafe { &*group };
        // Where the members went decides how to wait: in the kernel on one queue if possible.
        let mut ws = WaitSet::default();
        for &p in entries {
            // SAFETY: members are live until done; a done member is skipped.
            unsafe {
                if !p.is_null() && (p as usize) % 8 == 0 && (*p).aio_lio_opcode != LIO_NOP {
                    let cb = Cb(p);
                    if cb.error().load(Acquire) == libc::EINPROGRESS && cb.in_flight(eng.epoch) {
                        engine::wait_set_add(&mut ws, cb);
                    }
                }
            }
        }
        let r = engine::wait_until(eng, || (g.all_done(), WaitSet { ..ws }), None);
        // SAFETY: our reference; the members hold their own.
        unsafe { Group::release(eng, group, true) };
        r?;
        let any_error = entries.iter().any(|&p| {
            // SAFETY: every accepted member is done now; failed ones carry their error.
            !p.is_null()
                && (p as usize) % 8 == 0
                && unsafe { (*p).aio_lio_opcode != LIO_NOP && Cb(p).error().load(Acquire) != 0 }
        });
        if failed || any_error {
            Err(Errno::EIO)
        } else {
            Ok(0)
        }
    })
}

/// Records a submission error in an entry, as if it had completed with that error.
///
/// # Safety
/// `cb` is a live aiocb not in flight.
unsafe fn fail_entry(cb: Cb, e: Errno) {
    // SAFETY: forwarded.
    unsafe {
        if cb.error().load(Acquire) == libc::EINPROGRESS && cb.in_flight(engine::get().map_or(0, |e| e.epoch)) {
            // Resubmitted while in flight: leave the running request's status alone.
            return;
        }
        cb.ret().store(-1isize as u64, Relaxed);
        cb.error().store(e.0, Release);
    }
}

/// The twin of [`lio_listio`] for `struct aiocb64`.
///
/// # Safety
/// As [`lio_listio`].
#[no_mangle]
pub unsafe extern "C" fn lio_listio64(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { lio_listio(mode, list, nent, sig) }
}
