//! The thread's `errno`: read, set, saved across a call, and described.

use core::ffi::c_int;

use crate::errno::Errno;

impl Errno {
    /// The calling thread's current `errno`.
    pub(crate) fn last() -> Errno {
        // SAFETY: __errno_location returns a valid pointer to this thread's errno for the life of
        // the thread.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// Stores this error in the calling thread's `errno` (async-signal-safe: a plain store).
    pub(crate) fn set(self) {
        // SAFETY: __errno_location returns a valid pointer to this thread's errno for the life of
        // the thread; a plain store.
        unsafe { *libc::__errno_location() = self.0 }
    }
}

/// Saves `errno` and restores it on drop, for code that may run inside a signal handler.
pub(crate) struct ErrnoGuard(c_int);

impl ErrnoGuard {
    pub(crate) fn save() -> Self {
        ErrnoGuard(Errno::last().0)
    }
}

impl Drop for ErrnoGuard {
    fn drop(&mut self) {
        Errno(self.0).set();
    }
}

/// The text of an error number, for messages (not async-signal-safe: allocates).
pub(crate) fn strerror(e: Errno) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated string that stays valid until the
    // next strerror call on this thread; it is copied at once.
    let s = unsafe { core::ffi::CStr::from_ptr(libc::strerror(e.0)) };
    s.to_string_lossy().into_owned()
}
