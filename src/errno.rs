//! Error numbers and the single panic boundary used by every C entry point.
//!
//! Internals return `Result<T, Errno>`; only the entry points in `crate::posix` turn an `Err`
//! into the C convention (`-1` and `errno`), through [`boundary`].

use core::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A POSIX error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub c_int);

impl Errno {
    pub(crate) const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub(crate) const EBADF: Errno = Errno(libc::EBADF);
    pub(crate) const EINTR: Errno = Errno(libc::EINTR);
    pub(crate) const EINVAL: Errno = Errno(libc::EINVAL);
    pub(crate) const EIO: Errno = Errno(libc::EIO);
    pub(crate) const ENOSYS: Errno = Errno(libc::ENOSYS);
}

/// Runs `f` for a C entry point: an `Err` becomes `errno` plus the `failure` return value, and a
/// panic (a bug in this library) never unwinds into C: it is caught and reported as `EIO`.
#[inline(always)]
pub fn boundary<T: Copy>(failure: T, f: impl FnOnce() -> Result<T, Errno>) -> T {
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
