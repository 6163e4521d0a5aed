//! `lio_listio`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/lio_listio.html>.
//!
//! Lists of any length are accepted (nothing is copied), each entry checked by the intake as the
//! engine reaches it; see `engine::lio` for how a list is submitted and waited for.

use core::ffi::c_int;

use super::{boundary, intake};
use crate::abi::{Aiocb, SigEvent, LIO_NOWAIT, LIO_WAIT};
use crate::engine;
use crate::errno::Errno;
use crate::notify::Notify;

/// Submits a list of reads and writes; NULL entries and `LIO_NOP` entries are skipped.
///
/// # Safety
/// `list` points to `nent` entries, each NULL or an aiocb kept valid until it completes; `sig` is
/// NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lio_listio(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) -> c_int {
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
        unsafe { engine::submit_list(entries, mode == LIO_WAIT, notify, |p| intake::list_entry(p)) }?;
        Ok(0)
    })
}

/// The twin of [`lio_listio`] for `struct aiocb64`.
///
/// # Safety
/// As [`lio_listio`].
#[no_mangle]
pub unsafe extern "C" fn lio_listio64(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *mut SigEvent) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as lio_listio.
    unsafe { lio_listio(mode, list, nent, sig) }
}
