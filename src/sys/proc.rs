//! The process: its id, CPU count, and the exit and fork hooks.

/// The calling process's id, by system call (right in a fork child at once, async-signal-safe).
pub(crate) fn getpid() -> libc::pid_t {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getpid) as libc::pid_t }
}

/// The real user id, by system call.
pub(crate) fn getuid() -> libc::uid_t {
    // SAFETY: getuid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getuid) as libc::uid_t }
}

/// How many CPUs the system is configured with (at least 1).
pub(crate) fn cpus_configured() -> usize {
    // SAFETY: sysconf takes no pointers.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as usize
}

/// Registers `f` to run at `exit` (not async-signal-safe).
pub(crate) fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain function that lives as long as the program.
    unsafe { libc::atexit(f) };
}

/// Registers `pthread_atfork` handlers (not async-signal-safe).
pub(crate) fn at_fork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: the handlers are plain functions that live as long as the program.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}
