//! `aio_suspend`: <https://pubs.opengroup.org/onlinepubs/9799919799/functions/aio_suspend.html>.
//!
//! Async-signal-safe: no lock is waited for and nothing is allocated. When every listed request
//! sits on one kernel queue, the caller sleeps in the kernel on that queue and reaps its own
//! completion (no helper thread, no extra wake-up); otherwise it sleeps on the engine's event
//! counter while the helpers of the queues involved reap.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;
use core::time::Duration;

use crate::abi::Aiocb;
use crate::engine::{self, cb::Cb, WaitSet};
use crate::errno::{boundary, Errno};

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
        if nent < 0 || (list.is_null() && nent > 0) {
            return Err(Errno::EINVAL);
        }
        let timeout = if timeout.is_null() {
            None
        } else {
            // SAFETY: non-NULL, readable (caller).
            let t = unsafe { &*timeout };
            if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
                return Err(Errno::EINVAL);
            }
            Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
        };
        // SAFETY: list has nent readable entries (caller).
        let entries = if nent == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(list, nent as usize) } };
        let done_now = || {
            entries.iter().any(|&p| {
                // SAFETY: each non-NULL entry is a readable aiocb (caller).
                !p.is_null() && unsafe { Cb(p as *mut Aiocb).error().load(Acquire) } != libc::EINPROGRESS
            })
        };
        if done_now() {
            return Ok(0);
        }
        let Some(eng) = engine::get() else {
            // Nothing was ever submitted in this process: nothing can complete.
            return wait_nothing(timeout);
        };
        engine::wait_until(
            eng,
            || {
                let mut ws = WaitSet::default();
                for &p in entries {
                    if p.is_null() {
                        continue;
                    }
                    let cb = Cb(p as *mut Aiocb);
                    // SAFETY: readable aiocb (caller).
                    unsafe {
                        if cb.error().load(Acquire) != libc::EINPROGRESS {
                            return (true, ws);
                        }
                        if cb.in_flight(eng.epoch) {
                            engine::wait_set_add(&mut ws, cb);
                        }
                    }
                }
                (false, ws)
            },
            timeout,
        )
        .map(|_| 0)
    })
}

/// Sleeps until the timeout or a signal, as POSIX requires when nothing listed can complete.
fn wait_nothing(timeout: Option<Duration>) -> Result<c_int, Errno> {
    crate::sys::sleep_until_signal(timeout).map(|_| 0)
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
    // SAFETY: forwarded to the caller.
    unsafe { aio_suspend(list, nent, timeout) }
}
