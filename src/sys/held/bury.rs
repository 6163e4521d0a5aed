//! Placeholders at numbers the program closed behind our back while a request held its file
//! there (`closefrom`, `dup2` over it): a new descriptor of ours never stays at such a number
//! (see `super::super::fd::dupfd_clear`).

use core::ffi::{c_int, c_long};
use core::sync::atomic::{AtomicI32, Ordering::*};

use super::super::fd::{close, fcntl0, fcntl1};
use super::{slot, SLOT_LIVE, SLOT_TOMB};

/// Whether number `x`, which the kernel just gave us for a new descriptor, is one the program
/// closed behind our back while a request held its file there: its slot is still live (we clear
/// that before we close a number ourselves, `drop_held`), or a generation lost so is still owed
/// (see [`bury`]). Such a request may be between its check of the number and its use of it (see
/// `fd::dupfd_clear`). Async-signal-safe.
pub(crate) fn lost_while_held(x: c_int) -> bool {
    slot(x, false).is_some_and(|s| s.state.load(Acquire) & SLOT_LIVE != 0 || s.debt.load(Acquire) != 0)
}

/// Replaces the descriptor we just made at `x`, a number lost while held
/// ([`lost_while_held`]), by a placeholder: an `O_PATH` descriptor, through which every read,
/// write, fsync, poll or `epoll_ctl` fails with EBADF (which `finish` turns into ECANCELED: the
/// request never touched its file, `held_refuses` says no for a slot that moved on). The slot's
/// generation moves on first, so the old holders' next check fails and their release closes
/// nothing. The placeholder stays until that holder gives the generation up (`drop_held`: no
/// request uses the number then), and while it has not, a number the program frees again (its
/// next `closefrom`) gets a placeholder again; a fork child lets go of them
/// (`release_all_inherited`). At most one per number lost while held. False
/// (the caller keeps its descriptor at `x`) if the slot already moved on or no placeholder can be
/// had. Not async-signal-safe (may open the placeholder's file).
pub(crate) fn bury(x: c_int) -> bool {
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
    let Some(p) = placeholder() else { return false };
    // SAFETY: dup3 takes no pointers; `x` holds the descriptor our caller just made, which
    // nobody else knows (it is replaced, atomically), and `p` is an O_PATH descriptor.
    let r = unsafe { libc::syscall(libc::SYS_dup3, p, x, libc::O_CLOEXEC) };
    r == x as c_long
}

/// The O_PATH descriptor placeholders are duplicated from (-1: none yet).
pub(super) static PLACEHOLDER: AtomicI32 = AtomicI32::new(-1);

/// Whether `fd` is an O_PATH descriptor (harmless to duplicate as a placeholder, whoever's it is).
pub(super) fn is_opath(fd: c_int) -> bool {
    fd >= 0 && fcntl0(fd, libc::F_GETFL) & libc::O_PATH != 0
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
