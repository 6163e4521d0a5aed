//! The program's POSIX record locks, and closing our duplicates of its files.
//!
//! Linux drops every traditional POSIX record lock (`fcntl(F_SETLK)`, `lockf`) a process holds on
//! a file as soon as that process closes *any* descriptor of the file: the owner of such a lock is
//! the process's descriptor table, and every close in that table releases the owner's locks on the
//! inode (fcntl(2), "the locks are lost"). Our held duplicates (`held::hold`) live in the program's
//! table, so closing one would silently unlock the program's files: a program that locks a file and
//! then calls `aio_fsync` on it would lose its lock when the fsync completes.
//!
//! So before closing a duplicate of a regular file (locks on pipes or devices are left out: one
//! more system call on every stream request's release, for locks nobody takes there) we ask whether this process holds a traditional lock on the file
//! ([`process_may_hold_locks`]). If it may, the duplicate is *kept* instead ([`keep`]): its number
//! stays ours, the next hold of the same open file uses it again ([`take_kept`]), and it is looked
//! at again later (`held::sweep_kept`), to be closed once the
//! process holds no such lock (the program unlocked, or closed a descriptor of the file itself,
//! which dropped its locks anyway). Open file description locks (`F_OFD_SETLK`) and `flock` locks
//! belong to the open file, which our duplicate shares: a close never drops them, and they are not
//! reported here.
//!
//! How the question is asked: `fcntl(F_OFD_GETLK)` on our duplicate, for a write lock. Its owner is
//! the open file, so every traditional lock of this process conflicts with it and is reported, with
//! our PID in `l_pid` (locks of the same open file never conflict; OFD locks of other open files
//! report `l_pid` -1). The kernel reports one conflicting lock per call, so when the one reported
//! is another owner's, the parts of the range around it are asked again, up to [`PROBES`] calls;
//! past that the answer is "may": keeping a duplicate longer is safe, dropping a lock is not.
//!
//! What remains: a lock the program takes on another thread between our question and our close is
//! still dropped (a window of one system call), and a kept duplicate keeps its file open until the
//! process's locks on it are gone (as the program's own descriptor does while it holds them).

use core::ffi::c_int;
use core::sync::atomic::{AtomicU32, Ordering::*};

/// `fcntl` command (Linux >= 3.15; the libc crate names it only on some targets).
const F_OFD_GETLK: c_int = 36;

/// At most this many `F_OFD_GETLK` calls per question.
const PROBES: usize = 8;

/// Whether process `me` (this one) may hold a traditional POSIX record lock on the file open at
/// `fd` (false when it certainly holds none, or the file cannot be locked). Async-signal-safe.
pub(crate) fn process_may_hold_locks(fd: c_int, me: libc::pid_t) -> bool {
    // Ranges still to ask about, as (start, length); length 0 means "to the end of the file".
    let mut todo = [(0i64, 0i64); PROBES];
    let mut n = 1;
    let mut asked = 0;
    while n > 0 {
        if asked == PROBES {
            return true;
        }
        n -= 1;
        let (start, len) = todo[n];
        asked += 1;
        // SAFETY: all-zero is a valid flock (plain integers); F_OFD_GETLK wants l_pid 0.
        let mut fl: libc::flock = unsafe { core::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = start;
        fl.l_len = len;
        // SAFETY: F_OFD_GETLK reads and writes the flock `fl`, a live local.
        if unsafe { libc::syscall(libc::SYS_fcntl, fd, F_OFD_GETLK, &mut fl as *mut libc::flock) } != 0 {
            // Not a lockable file (or not a descriptor any more): no lock to lose.
            return false;
        }
        if fl.l_type == libc::F_UNLCK as libc::c_short {
            continue;
        }
        if fl.l_pid == me {
            return true;
        }
        // Another owner's lock over [lo, hi): ask about the parts of [start, end) around it.
        let end = if len == 0 { i64::MAX } else { start.saturating_add(len) };
        let lo = fl.l_start;
        let hi = if fl.l_len == 0 { i64::MAX } else { lo.saturating_add(fl.l_len) };
        let mut push = |s: i64, e: i64| {
            if s < e {
                if n == PROBES {
                    return false;
                }
                todo[n] = (s, if e == i64::MAX { 0 } else { e - s });
                n += 1;
            }
            true
        };
        if !push(start, lo.min(end)) || !push(hi.max(start), end) {
            return true;
        }
    }
    false
}

/// How many duplicates can be kept at once; past that, a duplicate is closed anyway (and the
/// process's locks on its file dropped), so that a file locked for ever cannot take every number.
const KEPT_MAX: usize = 64;

/// The kept duplicates, as packed `Held` words (0: a free entry).
static KEPT: [AtomicU32; KEPT_MAX] = [const { AtomicU32::new(0) }; KEPT_MAX];
/// How many entries of `KEPT` are in use (an upper bound while one is being taken or given up).
static KEPT_N: AtomicU32 = AtomicU32::new(0);
/// Counts `held::release` calls while any duplicate is kept, so the kept ones are looked at again
/// every [`SWEEP_EVERY`] releases rather than on every one.
static TICKS: AtomicU32 = AtomicU32::new(0);
const SWEEP_EVERY: u32 = 16;

/// Records the packed `Held` word `word` as kept. False if every entry is taken.
pub(crate) fn keep(word: u32) -> bool {
    KEPT_N.fetch_add(1, AcqRel);
    for e in KEPT.iter() {
        if e.compare_exchange(0, word, AcqRel, Relaxed).is_ok() {
            return true;
        }
    }
    KEPT_N.fetch_sub(1, AcqRel);
    false
}

/// Takes out of the list, and returns, a kept duplicate for which `pick` says true (the caller
/// uses it again: a file the process keeps locked gets one duplicate, not one per release, so
/// the list does not fill up while the lock lasts).
pub(crate) fn take_kept(mut pick: impl FnMut(u32) -> bool) -> Option<u32> {
    if KEPT_N.load(Acquire) == 0 {
        return None;
    }
    for e in KEPT.iter() {
        let w = e.load(Acquire);
        if w != 0 && pick(w) && e.compare_exchange(w, 0, AcqRel, Relaxed).is_ok() {
            KEPT_N.fetch_sub(1, AcqRel);
            return Some(w);
        }
    }
    None
}

/// Whether the kept duplicates are due to be looked at again (some are kept, and this is every
/// [`SWEEP_EVERY`]th asking).
pub(crate) fn sweep_due() -> bool {
    KEPT_N.load(Acquire) != 0 && TICKS.fetch_add(1, Relaxed).is_multiple_of(SWEEP_EVERY)
}

/// Takes every kept duplicate for which `done` says true (it was closed or found lost) out of the
/// list. Each entry is taken by one caller at a time: it is swapped to 0 while `done` runs, and
/// put back if `done` says false.
pub(crate) fn sweep(mut done: impl FnMut(u32) -> bool) {
    for e in KEPT.iter() {
        let w = e.swap(0, AcqRel);
        if w == 0 {
            continue;
        }
        if done(w) {
            KEPT_N.fetch_sub(1, AcqRel);
        } else if e.compare_exchange(0, w, AcqRel, Relaxed).is_err() && !keep_again(w) {
            // The entry was taken meanwhile by a new keep and none is free: treat it as done.
            KEPT_N.fetch_sub(1, AcqRel);
        }
    }
}

/// Puts `w` back in any free entry (the count already includes it).
fn keep_again(w: u32) -> bool {
    KEPT.iter().any(|e| e.compare_exchange(0, w, AcqRel, Relaxed).is_ok())
}

/// In a fork child: forgets every kept duplicate (the child's `held::release_all_inherited` closes
/// them with the other inherited numbers; the child holds none of the parent's locks).
pub(crate) fn forget_all() {
    for e in KEPT.iter() {
        if e.swap(0, AcqRel) != 0 {
            KEPT_N.fetch_sub(1, AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fd::{file_id, is_open};
    use crate::sys::held::{held_ok, hold, release, sweep_kept};

    /// A temporary file opened read-write (unlinked at once), or None where none can be made.
    fn temp_file() -> c_int {
        let dir = std::env::temp_dir();
        let path =
            std::ffi::CString::new(dir.join(format!("aio-rs-lock-{}-XXXXXX", std::process::id())).to_str().unwrap())
                .unwrap();
        let mut bytes = path.into_bytes_with_nul();
        // SAFETY: `bytes` is a writable NUL-terminated template ending in XXXXXX.
        let fd = unsafe { libc::mkstemp(bytes.as_mut_ptr().cast()) };
        assert!(fd >= 0, "mkstemp");
        // SAFETY: `bytes` holds the NUL-terminated name mkstemp wrote.
        unsafe { libc::unlink(bytes.as_ptr().cast()) };
        fd
    }

    fn set_lock(fd: c_int, ty: c_int, start: i64, len: i64) -> c_int {
        // SAFETY: all-zero is a valid flock.
        let mut fl: libc::flock = unsafe { core::mem::zeroed() };
        fl.l_type = ty as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = start;
        fl.l_len = len;
        // SAFETY: F_SETLK reads the flock `fl`, a live local.
        unsafe { libc::fcntl(fd, libc::F_SETLK, &fl) }
    }

    #[test]
    fn a_traditional_lock_is_seen_anywhere_in_the_file() {
        let fd = temp_file();
        assert!(!process_may_hold_locks(fd, crate::sys::getpid()), "nothing locked yet");
        assert_eq!(set_lock(fd, libc::F_RDLCK, 1 << 20, 4096), 0);
        assert!(process_may_hold_locks(fd, crate::sys::getpid()), "a read lock far into the file");
        assert_eq!(set_lock(fd, libc::F_UNLCK, 0, 0), 0);
        assert!(!process_may_hold_locks(fd, crate::sys::getpid()), "unlocked");
        // SAFETY: closes the test's own descriptor.
        unsafe { libc::close(fd) };
    }

    #[test]
    fn a_file_that_cannot_be_locked_holds_no_lock() {
        assert!(!process_may_hold_locks(-1, crate::sys::getpid()));
    }

    /// Releasing our duplicate of a file this process has locked must not close it (the close
    /// would drop the lock); once the lock is gone, a sweep closes it.
    #[test]
    fn duplicate_of_a_locked_file_is_kept_until_the_lock_is_gone() {
        let fd = temp_file();
        assert_eq!(set_lock(fd, libc::F_WRLCK, 0, 0), 0);
        let h = hold(fd, file_id(fd).unwrap()).unwrap();
        release(h);
        assert!(held_ok(h) && is_open(h.fd()), "kept open while the process holds the lock");
        assert!(process_may_hold_locks(fd, crate::sys::getpid()), "the lock survived the release");
        sweep_kept();
        assert!(held_ok(h), "still locked: still kept");
        // Held again while kept: the same duplicate comes back, and goes back to the list.
        let again = hold(fd, file_id(fd).unwrap()).unwrap();
        assert_eq!(again, h, "a kept duplicate of the same open file is used again");
        release(again);
        assert!(held_ok(h), "kept again");
        assert_eq!(set_lock(fd, libc::F_UNLCK, 0, 0), 0);
        sweep_kept();
        assert!(!held_ok(h), "closed once no lock is left");
        // SAFETY: closes the test's own descriptor.
        unsafe { libc::close(fd) };
    }
}
