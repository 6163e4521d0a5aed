//! `aio_suspend`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_suspend.html>.
//!
//! Async-signal-safe: no lock is waited for and nothing is allocated. When every listed request
//! sits on one kernel queue, the caller sleeps in the kernel on that queue and reaps its own
//! completion (no helper thread, no extra wake-up); otherwise it sleeps on the engine's event
//! counter while the helpers of the queues involved reap. A cancellation point: the sleep happens
//! in the C frame of `super::frame`.
//!
//! As glibc: if a listed request is already done, or the list names none (only NULL entries), it
//! returns 0 at once, before the timeout is looked at; a timeout with a negative field has already
//! passed (EAGAIN at once unless a request is done). A `tv_nsec` of a billion or more is EINVAL
//! (glibc aborts on it).

use core::ffi::c_int;

use super::frame::{trampoline, Frame};
use super::{boundary, intake};
use crate::abi::Aiocb;
use crate::engine;

trampoline! {
    /// Waits until at least one listed request is no longer in progress, `timeout` (relative)
    /// passes (`EAGAIN`), or a signal handler runs (`EINTR`). NULL entries are ignored. Returns at
    /// once, with no system call, if one is already done.
    ///
    /// # Safety
    /// `list` points to `nent` entries, each NULL or pointing to a readable aiocb; `timeout` is
    /// NULL or readable.
    aio_suspend(list: *const *const Aiocb, nent: c_int, timeout: *const libc::timespec) => aio_rs_suspend_frame, "rcx"
}

trampoline! {
    /// The twin of [`aio_suspend`] for `struct aiocb64` (the same structure on x86_64).
    ///
    /// # Safety
    /// As [`aio_suspend`].
    aio_suspend64(list: *const *const Aiocb, nent: c_int, timeout: *const libc::timespec) => aio_rs_suspend_frame, "rcx"
}

/// `aio_suspend`'s first step, called by its C frame: 0 (a request is done, or nothing to wait
/// for), -1 with `errno`, or SLEEP with the wait in the frame.
///
/// # Safety
/// `f` is the C frame's memory (see `Frame::init`); `list` points to `nent` entries, each NULL or
/// a readable aiocb, readable until the call returns; `timeout` is NULL or readable.
pub(super) unsafe extern "C" fn begin(
    f: *mut Frame,
    list: *const *const Aiocb,
    nent: c_int,
    timeout: *const libc::timespec,
) -> c_int {
    // SAFETY: the C frame's memory (caller).
    let frame = unsafe { Frame::init(f) };
    boundary(-1, || {
        // SAFETY: `list` points to `nent` readable entries (our caller's contract).
        let entries = unsafe { intake::list(list, nent) }?;
        // SAFETY: the list stays readable until our C frame returns, which outlives the wait
        // (dropped by `after`, `abandon`, or in `Frame::start`); `timeout` is NULL or readable
        // (our caller's contract).
        match unsafe { engine::wait(entries, || intake::timeout(timeout)) }? {
            Some(w) => frame.start(w),
            None => Ok(0),
        }
    })
}
