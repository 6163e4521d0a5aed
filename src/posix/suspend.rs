//! `aio_suspend`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_suspend.html>.
//!
//! Async-signal-safe: no lock is waited for and nothing is allocated. When every listed request
//! sits on one kernel queue, the caller sleeps in the kernel on that queue and reaps its own
//! completion (no helper thread, no extra wake-up); otherwise it sleeps on the engine's event
//! counter while the helpers of the queues involved reap.

use core::ffi::c_int;

use super::{boundary, intake};
use crate::abi::Aiocb;
use crate::engine;

/// Waits until at least one listed request is no longer in progress, `timeout` (relative) passes
/// (`EAGAIN`), or a signal handler runs (`EINTR`). NULL entries are ignored. Returns at once, with
/// no system call, if one is already done.
///
/// # Safety
/// `list` points to `nent` entries, each NULL or pointing to a readable aiocb; `timeout` is NULL or
/// readable.
#[no_mangle]
pub unsafe extern "C" fn aio_suspend(list: *const *const Aiocb, nent: c_int, timeout: *const libc::timespec) -> c_int {
    boundary(-1, || {
        // SAFETY: `list` points to `nent` readable entries (our caller's contract).
        let entries = unsafe { intake::list(list, nent) }?;
        // SAFETY: `timeout` is NULL or readable (our caller's contract).
        let timeout = unsafe { intake::timeout(timeout) }?;
        // SAFETY: each non-NULL entry points to a readable aiocb (our caller's contract).
        unsafe { engine::wait(entries, timeout) }.map(|_| 0)
    })
}

/// The twin of [`aio_suspend`] for `struct aiocb64`.
///
/// # Safety
/// As [`aio_suspend`].
#[no_mangle]
pub unsafe extern "C" fn aio_suspend64(
    list: *const *const Aiocb,
    nent: c_int,
    timeout: *const libc::timespec,
) -> c_int {
    // SAFETY: struct aiocb64 is struct aiocb on x86_64; same contract as aio_suspend.
    unsafe { aio_suspend(list, nent, timeout) }
}
