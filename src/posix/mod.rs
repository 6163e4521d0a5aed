//! The C entry points, one POSIX family per module. Each entry point is glue: it runs its body
//! inside [`boundary`] (the one place where an `Err` becomes `-1`/`errno` and where a panic is
//! stopped before it can unwind into C), checks its arguments through [`intake`], and makes one
//! call into the engine (`submit`, `submit_list`, `status`, `wait`, `cancel`, `configure`).
//!
//! The `*64` twins exist because programs built with `-D_FILE_OFFSET_BITS=64` call them; on
//! x86_64 `struct aiocb64` is the same structure, so each twin calls the same body.
//!
//! `aio_suspend` and `lio_listio` are the two cancellation points: they sleep in a C frame
//! ([`frame`]), never with a Rust frame on the stack, so a cancelled thread is unwound without
//! crossing Rust. No other entry point reaches a cancellation point: everything they do is a raw
//! system call (`crate::sys`).

pub mod cancel;
pub mod fsync;
pub mod init;
pub mod listio;
pub mod rw;
pub mod status;
pub mod suspend;

mod frame;
mod intake;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::errno::Errno;

/// Runs `f` for a C entry point: an `Err` becomes `errno` plus the `failure` return value, and a
/// panic (a bug in this library) never unwinds into C: it is caught and reported as `EIO`.
#[inline(always)]
fn boundary<T: Copy>(failure: T, f: impl FnOnce() -> Result<T, Errno>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            e.set();
            failure
        }
        Err(_) => {
            Errno::EIO.set();
            failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_passes_through_and_err_sets_errno() {
        assert_eq!(boundary(-1, || Ok(7)), 7);
        assert_eq!(boundary(-1, || Err::<i32, _>(Errno::EBADF)), -1);
        assert_eq!(Errno::last(), Errno::EBADF);
    }

    #[test]
    fn panic_is_caught() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = boundary(-1, || -> Result<i32, Errno> { panic!("bug") });
        std::panic::set_hook(prev);
        assert_eq!(r, -1);
        assert_eq!(Errno::last(), Errno::EIO);
    }
}
