//! Error numbers. Internals return `Result<T, Errno>`; only the C entry points in `crate::posix`
//! turn an `Err` into the C convention (`-1` and `errno`). Reading and setting the thread's
//! `errno` are system matters (`crate::sys`).

use core::ffi::c_int;

/// A POSIX error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub(crate) c_int);

impl Errno {
    pub(crate) const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub(crate) const EBADF: Errno = Errno(libc::EBADF);
    pub(crate) const EINTR: Errno = Errno(libc::EINTR);
    pub(crate) const EINVAL: Errno = Errno(libc::EINVAL);
    pub(crate) const EIO: Errno = Errno(libc::EIO);
    pub(crate) const ENOSYS: Errno = Errno(libc::ENOSYS);
}
