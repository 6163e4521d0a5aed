//! `aio_init` (a GNU extension): tunes the engine before its first use.

use super::boundary;
use crate::abi::AioInit;
use crate::engine;

/// Accepts glibc's tuning structure. `aio_threads` bounds the worker threads (spread over the
/// per-CPU queues) if called before the first request; the other fields have no counterpart
/// in this engine and are ignored.
///
/// # Safety
/// `init` is NULL or points to a readable `struct aioinit`.
#[no_mangle]
pub unsafe extern "C" fn aio_init(init: *const AioInit) {
    boundary((), || {
        if !init.is_null() {
            // SAFETY: non-NULL, readable (caller).
            let t = unsafe { (*init).aio_threads };
            if t > 0 {
                engine::configure(t as u32);
            }
        }
        Ok(())
    })
}
