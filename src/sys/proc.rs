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
    // glibc answers by opening and reading a file of /sys: a fork in between would leave that
    // descriptor open in the child (seen by c-tests/fork_descriptor_churn.c).
    let _section = super::gate::section();
    // SAFETY: sysconf takes no pointers.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as usize
}

/// How many CPUs the calling thread may run on (`sched_getaffinity`; 1 if it cannot be asked).
/// Async-signal-safe.
pub(crate) fn cpus_allowed() -> usize {
    let mut mask = [0u64; 16];
    // SAFETY: the kernel writes at most the given size (1024 CPUs' bits) into `mask`.
    let n = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, core::mem::size_of_val(&mask), mask.as_mut_ptr()) };
    if n <= 0 {
        return 1;
    }
    mask.iter().map(|w| w.count_ones() as usize).sum::<usize>().max(1)
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

/// What `/proc/self/stat` says about the process: its name (`comm`, at most 15 bytes), its
/// parent's id, and its start time (clock ticks after boot: with the pid, it names the process
/// even after the pid is reused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SelfStat {
    pub(crate) name: [u8; 16],
    pub(crate) ppid: u64,
    pub(crate) start_time: u64,
}

/// Reads [`SelfStat`] (raw system calls); None if `/proc` is not there.
pub(crate) fn self_stat() -> Option<SelfStat> {
    let mut buf = [0u8; 1024];
    parse_stat(super::log::read_small(c"/proc/self/stat", &mut buf)?)
}

/// Parses a `/proc/PID/stat` line: `pid (comm) state ppid ... starttime ...`, where `comm` may
/// hold spaces and parentheses (so it ends at the last `)`), and the start time is the 22nd field.
fn parse_stat(line: &[u8]) -> Option<SelfStat> {
    let open = line.iter().position(|&c| c == b'(')?;
    let close = line.iter().rposition(|&c| c == b')')?;
    let comm = line.get(open + 1..close)?;
    let mut name = [0u8; 16];
    let n = comm.len().min(15);
    name[..n].copy_from_slice(&comm[..n]);
    let rest = core::str::from_utf8(line.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let start_time = fields.nth(17)?.parse().ok()?;
    Some(SelfStat { name, ppid, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat() {
        let line = b"4242 (a) b) c) S 4240 4242 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 \n";
        let s = parse_stat(line).unwrap();
        assert_eq!(&s.name[..7], b"a) b) c");
        assert_eq!(s.name[7], 0);
        assert_eq!(s.ppid, 4240);
        assert_eq!(s.start_time, 987654);
        let mine = self_stat().unwrap();
        assert!(mine.start_time > 0 && mine.ppid > 0);
        assert!(parse_stat(b"1 (x) S").is_none());
    }
}
