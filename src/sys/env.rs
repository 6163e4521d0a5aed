//! The environment, read the way `secure_getenv` reads it: nothing in secure-execution mode.

use core::ffi::CStr;

/// Whether the process runs in secure-execution mode (`AT_SECURE`: a set-user-ID or set-group-ID
/// program, file capabilities, an LSM's decision). Then no `AIO_RS_*` variable may act: they
/// come from the user who started the program, not from its owner.
fn secure() -> bool {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave the process; no pointers.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The value of `name`, copied, or None if it is unset or the process is in secure-execution
/// mode (see [`secure`]). Not async-signal-safe (allocates).
pub(crate) fn var(name: &CStr) -> Option<Vec<u8>> {
    if secure() {
        return None;
    }
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a NUL-terminated string of the
    // environment, copied at once.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: non-NULL: a NUL-terminated string (see above).
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}
