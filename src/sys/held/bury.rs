//! Placeholders at numbers the program closed behind our back while a request held its file
//! there (`closefrom`, `dup2` over it): a new descriptor of ours never goes to such a number
//! (see `super::super::fd::dupfd_clear`).
//!
//! Until the first such number is seen in the process, a new descriptor is made as before (one
//! `fcntl(F_DUPFD_CLOEXEC)`), and one that lands at a lost number is replaced by a placeholder
//! at once ([`bury`]: it sat there for one system call, the `dup3`, the window of the first
//! loss). From then on ([`LOSS_SEEN`]) every new descriptor first takes its number with a
//! duplicate of the placeholder and is put there only once that number is known not to be lost
//! ([`dup_placed`]: one `dup3` more per new descriptor), so no request can ever reach it through
//! an old number.

use core::ffi::{c_int, c_long};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};

use super::super::fd::{close, fcntl0, fcntl1};
use super::{slot, SLOT_LIVE, SLOT_TOMB};
use crate::errno::Errno;

/// Non-zero once a number of ours was found lost while held ([`tomb`]): from then on new
/// descriptors are made placeholder first ([`dup_placed`]). Never cleared (a program that closed
/// our numbers once, `closefrom` in a loop or a daemon's start-up, may do it again), inherited by
/// a fork child.
static LOSS_SEEN: AtomicU32 = AtomicU32::new(0);

/// Whether a number of ours was ever found lost while held (one load): new descriptors are then
/// made by [`dup_placed`].
pub(crate) fn loss_seen() -> bool {
    LOSS_SEEN.load(Relaxed) != 0
}

/// Whether number `x`, which the kernel just gave us for a new descriptor, is one the program
/// closed behind our back while a request held its file there: its slot is still live (we clear
/// that before we close a number ourselves, `drop_held`), or a generation lost so is still owed
/// (see [`tomb`]). Such a request may be between its check of the number and its use of it (see
/// `fd::dupfd_clear`). Async-signal-safe.
pub(crate) fn lost_while_held(x: c_int) -> bool {
    slot(x, false).is_some_and(|s| s.state.load(Acquire) & SLOT_LIVE != 0 || s.debt.load(Acquire) != 0)
}

/// Records that number `x` (lost while held, [`lost_while_held`]) now holds, or is about to
/// hold, a placeholder of ours: an `O_PATH` descriptor, through which every read, write, fsync,
/// poll or `epoll_ctl` fails with EBADF (which `finish` turns into ECANCELED: the request never
/// touched its file, `held_refuses` says no for a slot that moved on). The slot's generation
/// moves on, so the old holders' next check fails and their release closes nothing. The
/// placeholder stays until that holder gives the generation up (`drop_held`: no request uses the
/// number then), and while it has not, a number the program frees again (its next `closefrom`)
/// gets a placeholder again; a fork child lets go of them (`release_all_inherited`). At most one
/// per number lost while held. False if the slot already moved on (the number is not lost any
/// more). Async-signal-safe.
fn tomb(x: c_int) -> bool {
    let Some(s) = slot(x, false) else { return false };
    let st = s.state.load(Acquire);
    let owed = s.debt.load(Acquire);
    if st & SLOT_LIVE != 0 {
        // Its holder still uses this generation: owed until it gives it up (`drop_held`).
        // Recorded before the generation moves on, so that give-up cannot miss it.
        s.debt.store((st & 0xff) + 1, Release);
    } else if owed == 0 {
        return false;
    }
    if s.state.compare_exchange(st, ((st + 1) & 0xff) | SLOT_TOMB, AcqRel, Acquire).is_err() {
        if st & SLOT_LIVE != 0 {
            // Given up meanwhile: nothing is owed.
            let _ = s.debt.compare_exchange((st & 0xff) + 1, owed, AcqRel, Acquire);
        }
        return false;
    }
    s.checked.store(0, Relaxed);
    LOSS_SEEN.store(1, Relaxed);
    true
}

/// Replaces the descriptor we just made at `x`, a number lost while held
/// ([`lost_while_held`]), by a placeholder (see [`tomb`]), as the first loss is seen: one
/// `dup3` while the placeholder is at hand. False (the caller keeps its descriptor at `x`) if the
/// slot already moved on or no placeholder can be had. Not async-signal-safe (may open the
/// placeholder's file).
pub(crate) fn bury(x: c_int) -> bool {
    if !tomb(x) {
        return false;
    }
    for _ in 0..2 {
        let p = match PLACEHOLDER.load(Acquire) {
            p if p >= 0 => p,
            _ => match placeholder() {
                Some(p) => p,
                None => return false,
            },
        };
        // SAFETY: dup3 takes no pointers; `x` holds the descriptor our caller just made, which
        // nobody else knows (it is replaced, atomically), and `p` is our O_PATH descriptor.
        let r = unsafe { libc::syscall(libc::SYS_dup3, p, x, libc::O_CLOEXEC) };
        if r == x as c_long {
            return true;
        }
        // The program closed the placeholder (its `closefrom`): made again.
        let _ = PLACEHOLDER.compare_exchange(p, -1, AcqRel, Relaxed);
    }
    false
}

/// How many lost numbers one new descriptor passes over at most.
const PASS_MAX: usize = 64;

/// A close-on-exec duplicate of `fd` at the lowest free number from `min` that was not lost while
/// held, made placeholder first: a duplicate of the placeholder takes the number
/// (`F_DUPFD_CLOEXEC`); a lost number keeps it ([`tomb`]) and the search goes on above; any other
/// is then given `fd`'s file (`dup3` over our placeholder). So no descriptor of ours but a
/// placeholder is ever at a lost number, not even for one system call. EBADF for a bad `fd`;
/// EMFILE or EINVAL as `F_DUPFD_CLOEXEC` answers them. None if no placeholder can be had (the
/// caller makes it as before). Not async-signal-safe (may open the placeholder's file).
///
/// What it cannot rule out: between the two calls the number is ours (a placeholder), and a
/// program thread that closes it (`closefrom`) and puts a file of its own there at once (`dup2`
/// to exactly that number) in between would have that file replaced by ours; this is the
/// window every `dup3` over a number of ours has (`bury`), and the one a program that closes our
/// numbers and reuses them at once has against every check of ours (docs/ARCHITECTURE.md,
/// Descriptors, known limits).
pub(crate) fn dup_placed(fd: c_int, min: c_int) -> Option<Result<c_int, Errno>> {
    for _ in 0..PASS_MAX {
        let p = match PLACEHOLDER.load(Acquire) {
            p if p >= 0 => p,
            _ => placeholder()?,
        };
        let y = fcntl1(p, libc::F_DUPFD_CLOEXEC, min);
        if y < 0 {
            let e = Errno::last();
            if e != Errno::EBADF {
                return Some(Err(e));
            }
            // The program closed the placeholder: made again.
            let _ = PLACEHOLDER.compare_exchange(p, -1, AcqRel, Relaxed);
            continue;
        }
        if lost_while_held(y) {
            // The placeholder stays, if it is one: the program may have put a file of its own at
            // the placeholder's number since we made it, and then that is what `y` names.
            if is_opath(y) {
                if tomb(y) {
                    continue;
                }
            } else {
                close(y);
                let _ = PLACEHOLDER.compare_exchange(p, -1, AcqRel, Relaxed);
                continue;
            }
        }
        if y == fd {
            // `fd` was free: the kernel gave its number to us (`dup3` would say EINVAL).
            close(y);
            return Some(Err(Errno::EBADF));
        }
        // SAFETY: dup3 takes no pointers; `y` holds our duplicate of the placeholder, made just
        // above, which nobody else knows of (replaced atomically).
        let r = unsafe { libc::syscall(libc::SYS_dup3, fd, y, libc::O_CLOEXEC) };
        if r == y as c_long {
            return Some(Ok(y));
        }
        let e = Errno::last();
        close(y);
        return Some(Err(e));
    }
    None
}

/// The O_PATH descriptor placeholders are duplicated from (-1: none yet, or found closed).
pub(super) static PLACEHOLDER: AtomicI32 = AtomicI32::new(-1);

/// Whether `fd` is an open O_PATH descriptor (harmless to duplicate as a placeholder, whoever's
/// it is). A number that is not open is not one (`fcntl`'s -1 has every bit set: taken for
/// O_PATH, a placeholder the program closed was "duplicated" with EBADF, and the new descriptor it
/// was to replace stayed at the lost number).
pub(super) fn is_opath(fd: c_int) -> bool {
    fd >= 0 && fcntl0(fd, libc::F_GETFL) & (libc::O_PATH | i32::MIN) == libc::O_PATH
}

/// [`PLACEHOLDER`], made (an O_PATH descriptor of `/`, moved above the low range) if it is not
/// there or the program closed it.
fn placeholder() -> Option<c_int> {
    let p = PLACEHOLDER.load(Acquire);
    if is_opath(p) {
        return Some(p);
    }
    // SAFETY: a NUL-terminated path, live for the call.
    let low = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD as c_long,
            c"/".as_ptr(),
            (libc::O_PATH | libc::O_CLOEXEC) as c_long,
        )
    } as c_int;
    if low < 0 {
        return None;
    }
    // Above the low range (the numbers a program reuses first); at a lost number it is a
    // placeholder there too.
    let high = fcntl1(low, libc::F_DUPFD_CLOEXEC, 64.min(low + 64));
    let keep = if high >= 0 {
        close(low);
        high
    } else {
        low
    };
    match PLACEHOLDER.compare_exchange(p, keep, AcqRel, Acquire) {
        Ok(_) => Some(keep),
        Err(other) => {
            close(keep);
            is_opath(other).then_some(other)
        }
    }
}
