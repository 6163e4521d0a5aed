//! `lio_listio`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/lio_listio.html>.
//!
//! Lists of any length are accepted (nothing is copied), each entry checked by the intake as the
//! engine reaches it; see `engine::lio` for how a list is submitted, waited for, and what errors
//! it reports. With LIO_WAIT the wait is a cancellation point, in the C frame of `super::frame`
//! (the requests are all submitted first, and stay in flight if the thread is cancelled).

use core::ffi::c_int;

use super::frame::{trampoline, Frame};
use super::{boundary, intake};
use crate::abi::{Aiocb, SigEvent, LIO_NOWAIT, LIO_WAIT};
use crate::engine;
use crate::errno::Errno;
use crate::notify::Notify;

trampoline! {
    /// Submits a list of reads and writes; NULL entries and `LIO_NOP` entries are skipped.
    ///
    /// # Safety
    /// `list` points to `nent` entries, each NULL or an aiocb kept valid until it completes; `sig`
    /// is NULL or readable.
    lio_listio(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) => aio_rs_lio_frame, "r8"
}

trampoline! {
    /// The twin of [`lio_listio`] for `struct aiocb64` (the same structure on x86_64).
    ///
    /// # Safety
    /// As [`lio_listio`].
    lio_listio64(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) => aio_rs_lio_frame, "r8"
}

/// `lio_listio`'s first step, called by its C frame: submits the list; then 0, -1 with `errno`,
/// or (LIO_WAIT) SLEEP with the wait in the frame.
///
/// # Safety
/// `f` is the C frame's memory (see `Frame::init`); the rest is [`lio_listio`]'s contract.
pub(super) unsafe extern "C" fn begin(
    f: *mut Frame,
    mode: c_int,
    list: *const *mut Aiocb,
    nent: c_int,
    sig: *mut SigEvent,
) -> c_int {
    // SAFETY: the C frame's memory (caller).
    let frame = unsafe { Frame::init(f) };
    boundary(-1, || {
        if mode != LIO_WAIT && mode != LIO_NOWAIT {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `list` points to `nent` readable entries (our C caller's contract).
        let entries = unsafe { intake::list(list, nent) }?;
        // POSIX: the list notification applies to LIO_NOWAIT only.
        // SAFETY: `sig` is NULL or readable (our C caller's contract).
        let notify = if mode == LIO_NOWAIT { unsafe { intake::sigevent(sig) }? } else { Notify::None };
        // SAFETY: each entry is NULL or a readable aiocb, kept valid until it completes (our C
        // caller's contract); the intake reads only such entries.
        let wait = unsafe { engine::submit_list(entries, mode == LIO_WAIT, notify, |p| intake::list_entry(p)) }?;
        match wait {
            Some(w) => frame.start(w),
            None => Ok(0),
        }
    })
}
