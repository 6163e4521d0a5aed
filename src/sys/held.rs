//! The duplicates we hold of the caller's files (`hold`): a registry per number of the file's
//! identity, open flags and a generation, checked before every use (`held_ok`, `held_same`), and
//! their release (`release`), which keeps a duplicate open while the process holds a POSIX record
//! lock on its file (`super::lock`). Why a request holds its file, not a number: see
//! docs/ARCHITECTURE.md, Descriptors, and the top of `super::fd`.

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use core::time::Duration;

use super::errno::ErrnoGuard;
use super::fd::{close, dup_high, fcntl0, fcntl1, file_id, FileId};
use super::gate;
use super::lock;
use super::time::now;
use crate::errno::Errno;

mod bury;
pub(crate) use bury::{bury, dup_placed, loss_seen, lost_while_held};
use bury::{is_opath, PLACEHOLDER};

// --- duplicates held of the caller's files -----------------------------------------------------

/// A duplicate we hold of a caller's open file: its number and the generation of its registry
/// slot, packed into 32 bits (number + 1 in the low 24, generation in the high 8) so that it fits
/// in a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Held(u32);

const HELD_MAX: usize = (1 << 24) - 2;
const SLOT_LIVE: u32 = 1 << 8;
/// The number holds a placeholder of ours ([`bury`]), not a held file.
const SLOT_TOMB: u32 = 1 << 9;

impl Held {
    /// The packed word (never 0).
    pub(crate) fn to_word(self) -> u32 {
        self.0
    }
    /// From a packed word; None for 0.
    pub(crate) fn from_word(w: u32) -> Option<Held> {
        (w != 0).then_some(Held(w))
    }
    /// The duplicate's number.
    pub(crate) fn fd(self) -> c_int {
        ((self.0 & 0xff_ffff) - 1) as c_int
    }
    fn generation(self) -> u32 {
        self.0 >> 24
    }
}

/// One registry slot: the identity of the file held at that number, its open flags (read when the
/// duplicate was made: they belong to the open file, and its access mode never changes), and a
/// word with the slot's generation (low 8 bits) and `SLOT_LIVE` while we hold the number.
struct Slot {
    ident: AtomicU64,
    flags: AtomicI32,
    /// The file's `S_IFMT` bits.
    format: AtomicU32,
    state: AtomicU32,
    /// When the number was last found to name the file it held (see [`held_ok_recent`]): the
    /// time (ns, CLOCK_MONOTONIC) read *before* the check, shifted left by 8, with the slot
    /// generation the check was made for in the low 8 bits (0: never).
    checked: AtomicU64,
    /// An older generation of the number lost while held (`bury`): that generation + 1 until its
    /// holder gives it up (`drop_held`), 0 when none. While it is set the number is given to no
    /// new descriptor of ours.
    debt: AtomicU32,
    /// The slot generation with `SLOT_LIVE` once [`held_ok`] found the duplicate to name the file
    /// whose identity is recorded (0: not yet): from then on `ident` and `format` are those of the
    /// duplicate's own open file, which nobody but us can change (see [`held_file`]).
    verified: AtomicU32,
}

const CHUNK: usize = 1024;
const CHUNKS: usize = (HELD_MAX + 1).div_ceil(CHUNK);

/// The registry of held numbers: chunks made on first use, never freed (so a slot reference lives
/// as long as the process).
static REGISTRY: [AtomicPtr<Slot>; CHUNKS] = [const { AtomicPtr::new(ptr::null_mut()) }; CHUNKS];

/// The slot of `fd`, making its chunk if `make` (not async-signal-safe then).
fn slot(fd: c_int, make: bool) -> Option<&'static Slot> {
    if fd < 0 || fd as usize > HELD_MAX {
        return None;
    }
    let (c, i) = (fd as usize / CHUNK, fd as usize % CHUNK);
    let mut p = REGISTRY[c].load(Acquire);
    if p.is_null() {
        if !make {
            return None;
        }
        let fresh: Box<[Slot]> = (0..CHUNK)
            .map(|_| Slot {
                ident: AtomicU64::new(0),
                flags: AtomicI32::new(0),
                format: AtomicU32::new(0),
                state: AtomicU32::new(0),
                checked: AtomicU64::new(0),
                debt: AtomicU32::new(0),
                verified: AtomicU32::new(0),
            })
            .collect();
        let fresh = Box::into_raw(fresh) as *mut Slot;
        match REGISTRY[c].compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => p = fresh,
            Err(existing) => {
                // SAFETY: `fresh` was made above and nobody else has seen it.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                p = existing;
            }
        }
    }
    // SAFETY: a published chunk holds CHUNK slots and is never freed; i < CHUNK.
    Some(unsafe { &*p.add(i) })
}

/// Holds the open file behind the caller's `fd`, whose identity (`file_id`) the caller just
/// read: duplicates it to a high number and records the identity there. (Should the number
/// change in between, the duplicate's identity differs and the first check of it fails: the
/// request then ends as if its descriptor had been closed, which it was.) EBADF for a bad `fd`,
/// EAGAIN when no descriptor can be had. Not async-signal-safe (may allocate a registry chunk).
pub(crate) fn hold(fd: c_int, id: FileId) -> Result<Held, Errno> {
    hold_with(fd, id, None)
}

/// [`hold`] of a stream on which the caller's non-blocking transfer in this same call just found
/// nothing to move (EAGAIN, not EBADF): the file serves that direction, so its open flags are not
/// asked (one `fcntl` saved). They are recorded as `O_RDWR` with nothing else set: what they are
/// used for ([`held_refuses`]: whether an EBADF answer is the file's own refusal) then never
/// takes a lost number for a refusal; a transfer in the other direction (which, on a pipe's end,
/// fails at its own first attempt on the caller's number and never uses this duplicate) would
/// end ECANCELED rather than EBADF. Not async-signal-safe (see [`hold`]).
///
/// (Its first use is still checked, `held_ok`. Counting the making of the duplicate as a check
/// for [`held_ok_recent`] saved a waiter's claimed read its `statx` in a ping-pong, but a program
/// that closes our number and makes a file of its own there at once (`closefrom`, then `dup2` or
/// `F_DUPFD` to a high number) between its `aio_read` and its `aio_suspend` would then have that
/// file read; not done.)
pub(crate) fn hold_after_attempt(fd: c_int, id: FileId) -> Result<Held, Errno> {
    hold_with(fd, id, Some(libc::O_RDWR))
}

/// [`hold`], with the open flags already known (see [`hold_after_attempt`]).
fn hold_with(fd: c_int, id: FileId, flags: Option<c_int>) -> Result<Held, Errno> {
    if lock::sweep_due() {
        sweep_kept();
    }
    // One kept for the process's record locks on this very open file (see `release`)?
    if let Some(w) = lock::take_kept(|w| Held::from_word(w).is_some_and(|h| same_file(h, fd, id))) {
        return Ok(Held(w));
    }
    // From the `dup` to the slot marked live, a fork would give the child a descriptor it does
    // not know it has (`super::gate`). The slot's chunk may be made inside the section (once per
    // 1024 numbers: an allocation, see `super::gate` for why that cannot deadlock a fork); the
    // duplicate is never closed to make it outside (closing any descriptor of the file drops the
    // process's record locks on it: c-tests/record_lock_kept.c).
    let _section = gate::section();
    let x = dup_high(fd).map_err(|e| if e == Errno::EBADF { e } else { Errno::EAGAIN })?;
    let Some(s) = slot(x, true) else {
        close(x);
        return Err(Errno::EAGAIN);
    };
    // The number was free until our dup, so nobody else uses the slot. The flags, unless the
    // caller knows them, are our duplicate's, read through the number we just made (nobody else
    // can have closed it yet without also making the first check of it fail, see above).
    let generation = (s.state.load(Acquire) + 1) & 0xff;
    // No check stands for the new generation yet (`held_ok_recent`), and its identity is the
    // caller's reading of the number, not yet of the duplicate (`held_file`).
    s.checked.store(0, Relaxed);
    s.verified.store(0, Relaxed);
    s.ident.store(id.ident, Relaxed);
    s.flags.store(flags.unwrap_or_else(|| fcntl0(x, libc::F_GETFL).max(0)), Relaxed);
    s.format.store(id.format, Relaxed);
    s.state.store(generation | SLOT_LIVE, Release);
    Ok(Held((x as u32 + 1) | generation << 24))
}

/// Whether the duplicate `h` is still ours and of the open file the caller's `fd` (of identity
/// `id`) names: by `held_same`, or where that cannot answer, by identity and open flags (access
/// mode, O_APPEND, O_DIRECT).
fn same_file(h: Held, fd: c_int, id: FileId) -> bool {
    if let Some(same) = held_same(h, fd) {
        return same;
    }
    const FLAGS: c_int = libc::O_ACCMODE | libc::O_APPEND | libc::O_DIRECT;
    let Some(s) = slot(h.fd(), false) else { return false };
    held_ok(h)
        && s.ident.load(Relaxed) == id.ident
        && fcntl0(fd, libc::F_GETFL) & FLAGS == s.flags.load(Relaxed) & FLAGS
}

/// Whether `h` is still ours: its slot still has its generation and the number still names the
/// file it held (one `fstat`). Async-signal-safe.
pub(crate) fn held_ok(h: Held) -> bool {
    let Some(s) = slot(h.fd(), false) else { return false };
    if s.state.load(Acquire) != h.generation() | SLOT_LIVE {
        return false;
    }
    let t = now();
    let ok = file_id(h.fd()).is_ok_and(|id| id.ident == s.ident.load(Relaxed));
    if ok {
        stamp(s, h, t);
        s.verified.store(h.generation() | SLOT_LIVE, Relaxed);
    }
    ok
}

/// What the open file behind `h` is: its identity and type (`FileId`, without a size) and its
/// open flags (read when the duplicate was made), known for certain, not as the caller's number
/// was read before the `dup`: a duplicate whose identity [`held_ok`] has not confirmed yet is
/// checked first (one `fstat`, once per duplicate). None if `h` is no longer ours, or its number
/// names another file than recorded (taken from us). Async-signal-safe.
///
/// Why it can be relied on afterwards: the open file a descriptor of ours names never changes
/// while we hold it; only the program closing our number and putting another file there (a
/// known limit for every duplicate we hold, docs/ARCHITECTURE.md) could.
pub(crate) fn held_file(h: Held) -> Option<(FileId, c_int)> {
    let s = slot(h.fd(), false)?;
    let live = h.generation() | SLOT_LIVE;
    if s.verified.load(Relaxed) != live && !held_ok(h) {
        return None;
    }
    if s.state.load(Acquire) != live {
        return None;
    }
    let id = FileId { ident: s.ident.load(Relaxed), format: s.format.load(Relaxed), size: 0 };
    Some((id, s.flags.load(Relaxed)))
}

/// How long a check of a held number by [`held_ok`] stands for the next use by
/// [`held_ok_recent`].
pub(crate) const CHECK_STANDS: Duration = Duration::from_micros(50);

/// [`held_ok`], answered without a system call when [`held_ok`] found the number to name its file
/// less than [`CHECK_STANDS`] ago: a worker running a stream of requests on one file so makes one
/// `statx` per 50 µs at most rather than one per request (under a seccomp filter, 0.8 µs each,
/// about a tenth of a buffered 4 KiB write on the reference machine). A submitter's comparison
/// of the number with its own as it takes the duplicate for a new request counts too
/// ([`held_same_stands`], which says why); other uses of [`held_same`] do not.
///
/// What it gives up: a check and the use it guards were already two system calls, so a program
/// thread that closes our number and opens another file at exactly that number in between was
/// not seen (docs/ARCHITECTURE.md, Descriptors, known limits); that window is now as long as
/// `CHECK_STANDS` rather than one system call (it was unbounded already when the checking thread
/// was preempted between the two). The time stamped is read before the check, so the age of a
/// check is never underestimated; the stamp names the slot generation it was made for, so a
/// number we closed and made again is never taken for checked by its older holder's check.
///
/// `t`: the time of the use, if the caller read the clock for it already (a worker: when the
/// request started, which may be when its previous one ended, `Pool::started`; so preemption in
/// between lengthens the window, as it could between a check and its use before); zero: read now.
/// Async-signal-safe (the vDSO clock, loads, one `statx` at most).
pub(crate) fn held_ok_recent(h: Held, t: Duration) -> bool {
    let Some(s) = slot(h.fd(), false) else { return false };
    if s.state.load(Acquire) != h.generation() | SLOT_LIVE {
        return false;
    }
    let c = s.checked.load(Acquire);
    if c != 0 && c & 0xff == h.generation() as u64 {
        let at = c >> 8;
        let t = if t.is_zero() { now() } else { t }.as_nanos() as u64;
        if t.saturating_sub(at) < CHECK_STANDS.as_nanos() as u64 {
            return true;
        }
    }
    held_ok(h)
}

/// [`held_same`] made as a new request takes `h` for the caller's `fd` (`FdEntry::hold_known`):
/// true also stands for [`held_ok_recent`], as a check by [`held_ok`] does, so a worker running a
/// stream of writes that their submitter checks one by one makes no `statx` of its own.
///
/// Why that is enough: true says that our number and `fd` name one open file now. Every request
/// sharing `h` was bound, at its own submission, to the open file `fd` named then, by the same
/// answer (or by the `dup` that made `h`). So our number names the file those requests were made
/// for unless, since they were submitted, the program both closed our number and put at it a
/// duplicate of what `fd` names now, and `fd` itself names another open file than then (which
/// needs `closefrom` or a `close` of our number, a reopen of `fd`, and a `dup2` or lowest-number
/// `dup` landing on our number exactly); `held_ok`'s `fstat` would not see that either when the
/// two files are one inode. Async-signal-safe.
pub(crate) fn held_same_stands(h: Held, fd: c_int) -> Option<bool> {
    let Some(s) = slot(h.fd(), false) else { return Some(false) };
    let t = now();
    let same = same_in(s, h, fd);
    if same == Some(true) {
        stamp(s, h, t);
    }
    same
}

/// Records that `h`'s number was found to name its file by a check started at `t`.
fn stamp(s: &Slot, h: Held, t: Duration) {
    s.checked.store((t.as_nanos() as u64) << 8 | h.generation() as u64, Release);
}

/// Whether the open file `h` duplicated refuses `write` (true), `read` (false) or, for None, an
/// fsync, with EBADF: its access mode does not allow it (or it is an `O_PATH` descriptor).
/// False if the slot moved on (the answer is then unknown). Async-signal-safe (no system call).
///
/// It tells the two causes of an EBADF answer to a request that used `h` apart: the file's own
/// refusal (the request's result), or the number having been closed behind our back between our
/// check and the system call (the request never touched its file). Asking the number again
/// cannot tell them apart: by then it may have been reused, even by another descriptor of the
/// same file (the same identity), as `dup` of the program's own descriptor does.
pub(crate) fn held_refuses(h: Held, write: Option<bool>) -> bool {
    let Some(s) = slot(h.fd(), false) else { return false };
    if s.state.load(Acquire) != h.generation() | SLOT_LIVE {
        return false;
    }
    refuses(s.flags.load(Relaxed), write)
}

/// Whether a file with open flags `fl` refuses `write` (true), `read` (false) or an fsync (None)
/// with EBADF.
fn refuses(fl: c_int, write: Option<bool>) -> bool {
    if fl & libc::O_PATH != 0 {
        return true;
    }
    match write {
        Some(true) => fl & libc::O_ACCMODE == libc::O_RDONLY,
        Some(false) => fl & libc::O_ACCMODE == libc::O_WRONLY,
        None => false,
    }
}

/// The process id `kcmp` is given, read once (0: not yet; a fork child resets it, see
/// [`release_all_inherited`]).
static OWN_PID: AtomicI32 = AtomicI32::new(0);
/// Non-zero once `kcmp` was found unusable here (not built into the kernel, or denied by a
/// seccomp filter, as container runtimes' default profiles may do): [`held_same`] answers None
/// where `F_DUPFD_QUERY` cannot be used either.
static KCMP_OFF: AtomicU32 = AtomicU32::new(0);
const KCMP_FILE: c_int = 0;
/// `fcntl(fd, F_DUPFD_QUERY, other)` (Linux 6.10): 1 if the two numbers name one open file, 0 if
/// not, EBADF if either is not open. (`F_LINUX_SPECIFIC_BASE + 3`; not in the `libc` crate.)
const F_DUPFD_QUERY: c_int = 1024 + 3;
/// Non-zero once `F_DUPFD_QUERY` was found unusable here (a kernel before 6.10 answers EINVAL):
/// [`held_same`] asks `kcmp`.
static DUPQ_OFF: AtomicU32 = AtomicU32::new(0);

/// Whether `h` is still ours and its number names the very open file (the same open file
/// description, not only the same inode: a file closed and opened again, even with the same
/// flags, is another) that the caller's `fd` names: one `fcntl(F_DUPFD_QUERY)`, or where the
/// kernel lacks it one `kcmp(KCMP_FILE)`, which answer both questions that `held_ok` and an
/// `fstat` of `fd` would (and what they cannot: the access mode and flags of a file opened
/// again). None if neither can be used: ask those two instead. Async-signal-safe.
///
/// Both compare the two numbers' open files (`struct file`) and nothing else. The `fcntl` is
/// asked first: about half the cost of `kcmp` on the reference machine (Linux 6.18, 0.5 against
/// 1.1 µs under a seccomp filter), since it looks up no process and makes no ptrace access check;
/// and where a seccomp profile denies `kcmp` (as container runtimes' profiles may) but allows
/// `fcntl`, it saves the `statx` of each number that was asked instead.
pub(crate) fn held_same(h: Held, fd: c_int) -> Option<bool> {
    let Some(s) = slot(h.fd(), false) else { return Some(false) };
    same_in(s, h, fd)
}

/// [`held_same`], `s` being `h`'s slot.
fn same_in(s: &Slot, h: Held, fd: c_int) -> Option<bool> {
    let dupq = DUPQ_OFF.load(Relaxed) == 0;
    if !dupq && KCMP_OFF.load(Relaxed) != 0 {
        return None;
    }
    if s.state.load(Acquire) != h.generation() | SLOT_LIVE {
        return Some(false);
    }
    let _errno = ErrnoGuard::save();
    if dupq {
        match same_by_query(fd, h.fd()) {
            Some(same) => return Some(same),
            None => DUPQ_OFF.store(1, Relaxed),
        }
    }
    if KCMP_OFF.load(Relaxed) != 0 {
        return None;
    }
    let same = same_by_kcmp(fd, h.fd());
    if same.is_none() {
        KCMP_OFF.store(1, Relaxed);
    }
    same
}

/// Whether `a` and `b` name one open file, by `fcntl(F_DUPFD_QUERY)`; a number that is not open
/// names none (false: ours was taken, then it is not the caller's file; or the caller's is bad,
/// and the caller then learns EBADF making a new duplicate). None if the kernel cannot answer.
/// Sets `errno`.
fn same_by_query(a: c_int, b: c_int) -> Option<bool> {
    match fcntl1(a, F_DUPFD_QUERY, b) {
        1 => Some(true),
        0 => Some(false),
        _ if Errno::last() == Errno::EBADF => Some(false),
        _ => None,
    }
}

/// [`same_by_query`] by `kcmp(KCMP_FILE)`.
fn same_by_kcmp(a: c_int, b: c_int) -> Option<bool> {
    let pid = own_pid();
    // SAFETY: kcmp takes no pointers; it compares two descriptors of this process.
    match unsafe { libc::syscall(libc::SYS_kcmp, pid, pid, KCMP_FILE, a, b) } {
        0 => Some(true),
        r if r > 0 => Some(false),
        _ if Errno::last() == Errno::EBADF => Some(false),
        _ => None,
    }
}

/// The identity of the file `h` was made of (0 if the slot moved on).
pub(crate) fn held_ident(h: Held) -> u64 {
    match slot(h.fd(), false) {
        Some(s) if s.state.load(Acquire) == h.generation() | SLOT_LIVE => s.ident.load(Relaxed),
        _ => 0,
    }
}

/// This process's id, read once (forgotten in a fork child by `release_all_inherited`).
fn own_pid() -> libc::pid_t {
    match OWN_PID.load(Relaxed) {
        0 => {
            let p = super::proc::getpid();
            OWN_PID.store(p, Relaxed);
            p
        }
        p => p,
    }
}

/// Whether closing `h` (still ours) could drop a POSIX record lock of this process: its file is
/// a regular file and the process may hold one there (`super::lock`).
fn may_hold_locks(h: Held) -> bool {
    slot(h.fd(), false).is_some_and(|s| s.format.load(Relaxed) == libc::S_IFREG)
        && lock::process_may_hold_locks(h.fd(), own_pid())
}

/// Gives `h` up: closes the number if it is still ours, else only forgets it; but while this
/// process may hold a POSIX record lock on the file, which the close would drop, the number is
/// kept open and closed later (`sys::lock`). Async-signal-safe.
pub(crate) fn release(h: Held) {
    let ours = held_ok(h);
    if !(ours && may_hold_locks(h) && lock::keep(h.to_word())) {
        drop_held(h, ours);
    }
    if lock::sweep_due() {
        sweep_kept();
    }
}

/// [`release`] of a duplicate that its caller found still ours (`held_ok`) right before its last
/// system call on it, with nothing since that could have given the number away but another
/// thread of the program (or a signal handler) closing it and opening another file there in the
/// window of that one call: the registry is asked (a load), not the number (an `fstat`).
///
/// The argument: a check is never atomic with the use it guards. What it defends against is the
/// program having closed our number (`closefrom`, `dup2` over it) before our code started
/// using it: after a sleep, or since the call that made it returned to the program. A second
/// check one system call after the first, with no sleep and no return to the program in between,
/// only narrows a window the first one leaves open anyway (from two system calls to one) and
/// costs an `fstat` per request. Async-signal-safe.
pub(crate) fn release_checked(h: Held) {
    let ours = slot(h.fd(), false).is_some_and(|s| s.state.load(Acquire) == h.generation() | SLOT_LIVE);
    if !(ours && may_hold_locks(h) && lock::keep(h.to_word())) {
        drop_held(h, ours);
    }
    if lock::sweep_due() {
        sweep_kept();
    }
}

/// Closes (if `ours`) and forgets `h`. From the slot's change to the close, a fork would give the
/// child a descriptor it does not know it has: one section of `super::gate`.
fn drop_held(h: Held, ours: bool) {
    if let Some(s) = slot(h.fd(), false) {
        let _section = gate::section();
        if s.state.compare_exchange(h.generation() | SLOT_LIVE, h.generation(), AcqRel, Acquire).is_ok() {
            if ours {
                close(h.fd());
            }
        } else if s.debt.compare_exchange(h.generation() + 1, 0, AcqRel, Acquire).is_ok() {
            // The number was lost while held, and this was its last user: its placeholder, if
            // still there (the program may have closed it), is no longer needed (see `bury`).
            let st = s.state.load(Acquire);
            if st & SLOT_TOMB != 0
                && s.state.compare_exchange(st, st & 0xff, AcqRel, Acquire).is_ok()
                && is_opath(h.fd())
            {
                close(h.fd());
            }
        }
    }
}

/// Looks again at the duplicates kept for the process's record locks: closes those whose file it
/// no longer locks, forgets those whose number is no longer ours. Async-signal-safe.
pub(crate) fn sweep_kept() {
    lock::sweep(|w| {
        let Some(h) = Held::from_word(w) else { return true };
        let ours = held_ok(h);
        if ours && may_hold_locks(h) {
            return false;
        }
        drop_held(h, ours);
        true
    });
}

/// In a fork child: closes every held number that is still ours and forgets them all (the
/// requests that held them are the parent's). Async-signal-safe.
pub(crate) fn release_all_inherited() {
    lock::forget_all();
    let p = PLACEHOLDER.swap(-1, AcqRel);
    if is_opath(p) {
        close(p);
    }
    OWN_PID.store(0, Relaxed);
    for (c, chunk) in REGISTRY.iter().enumerate() {
        let p = chunk.load(Acquire);
        if p.is_null() {
            continue;
        }
        for i in 0..CHUNK {
            // SAFETY: a published chunk holds CHUNK slots and is never freed.
            let s = unsafe { &*p.add(i) };
            let st = s.state.load(Acquire);
            if st & SLOT_LIVE != 0 {
                release(Held(((c * CHUNK + i) as u32 + 1) | (st & 0xff) << 24));
            }
            s.debt.store(0, Release);
            let st = s.state.load(Acquire);
            if st & SLOT_TOMB != 0 {
                let x = (c * CHUNK + i) as c_int;
                if s.state.compare_exchange(st, st & 0xff, AcqRel, Acquire).is_ok() && is_opath(x) {
                    close(x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fd::is_open;
    use super::super::fd::tests::pipe;
    use super::*;

    #[test]
    fn held_word_round_trips() {
        let h = Held((41 + 1) | 7 << 24);
        assert_eq!((h.fd(), h.generation()), (41, 7));
        assert_eq!(Held::from_word(h.to_word()), Some(h));
        assert_eq!(Held::from_word(0), None);
    }

    /// A held duplicate is checked by identity and generation: closed behind our back and the
    /// number reused by another file, it is neither ours nor closed by `release`.
    #[test]
    fn held_duplicate_is_checked_and_never_closed_once_lost() {
        let (r, w) = pipe();
        let h = hold(r, file_id(r).unwrap()).unwrap();
        assert!(h.fd() >= 3 && h.fd() != r);
        assert!(held_ok(h));
        assert_eq!(held_ident(h), file_id(r).unwrap().ident);
        // Someone closes our number and opens another file there (one `dup2`, which closes and
        // replaces at once, so that no test running in parallel in this process can take the
        // number in between).
        let (r2, w2) = pipe();
        // SAFETY: dup2 takes no pointers; both numbers are open.
        assert_eq!(unsafe { libc::dup2(r2, h.fd()) }, h.fd());
        assert!(!held_ok(h), "the number now names another pipe");
        release(h);
        assert!(is_open(h.fd()), "release must not close what is not ours");
        // A fresh hold is ours and is closed by release.
        let h2 = hold(w, file_id(w).unwrap()).unwrap();
        assert!(held_ok(h2));
        release(h2);
        assert!(!held_ok(h2));
        for fd in [r, w, r2, w2, h.fd()] {
            close(fd);
        }
    }

    /// A number the program closed behind our back while a request held its file there is not
    /// given to a new descriptor of ours (a request between its check and its use would reach
    /// that one): it gets a placeholder, through which a read fails with EBADF, until the old
    /// holder gives it up.
    #[test]
    fn a_number_lost_while_held_gets_a_placeholder() {
        let (r, w) = pipe();
        let h = hold(r, file_id(r).unwrap()).unwrap();
        close(h.fd()); // the program's closefrom
        assert!(lost_while_held(h.fd()));
        let (r2, w2) = pipe();
        let h2 = hold(r2, file_id(r2).unwrap()).unwrap();
        assert_ne!(h2.fd(), h.fd());
        // Whichever of ours made a descriptor at the number first (another test, in parallel,
        // may have) put the placeholder there.
        if is_opath(h.fd()) {
            let mut b = 0u8;
            // SAFETY: a one-byte read into a live local.
            let n = unsafe { libc::read(h.fd(), &mut b as *mut u8 as *mut libc::c_void, 1) };
            assert!(n == -1 && Errno::last() == Errno::EBADF);
            assert!(!held_ok(h) && lost_while_held(h.fd()), "owed until its holder gives it up");
            // The holder gives it up: the placeholder goes, the number is free for us again.
            release(h);
            assert!(!lost_while_held(h.fd()));
        }
        release(h2);
        for fd in [r, w, r2, w2] {
            close(fd);
        }
    }

    /// Placeholder first (once a loss was seen): a new descriptor never lands at a number lost
    /// while held, not even for one system call; that number keeps a placeholder, through which
    /// a read fails with EBADF, and the old holder's check fails. A bad descriptor is EBADF and
    /// leaves nothing behind. A number that is not open is no O_PATH descriptor (`fcntl`'s -1
    /// was once taken for one, and a closed placeholder "duplicated" with EBADF).
    #[test]
    fn placeholder_first_passes_over_a_lost_number() {
        let (r, w) = pipe();
        let h = hold(r, file_id(r).unwrap()).unwrap();
        close(h.fd()); // the program's closefrom
        assert!(!is_opath(h.fd()), "a closed number is not an O_PATH descriptor");
        assert!(lost_while_held(h.fd()));
        let (r2, w2) = pipe();
        // From the lost number itself: it is the lowest free one there, unless a test running
        // beside took it first (then it holds that test's placeholder or descriptor).
        let y = dup_placed(r2, h.fd()).expect("a placeholder can be had").unwrap();
        assert_ne!(y, h.fd());
        assert!(loss_seen());
        assert_eq!(file_id(y).unwrap().ident, file_id(r2).unwrap().ident, "the new one names r2's file");
        assert!(!held_ok(h), "the old holder's check fails");
        if is_opath(h.fd()) {
            let mut b = 0u8;
            // SAFETY: a one-byte read into a live local.
            let n = unsafe { libc::read(h.fd(), &mut b as *mut u8 as *mut libc::c_void, 1) };
            assert!(n == -1 && Errno::last() == Errno::EBADF);
        }
        let (a, bad) = pipe();
        close(bad);
        assert_eq!(dup_placed(bad, 3), Some(Err(Errno::EBADF)));
        release(h);
        assert!(!lost_while_held(h.fd()), "paid: the placeholder went with the last holder");
        for fd in [r, w, r2, w2, a, y] {
            close(fd);
        }
    }

    /// A held duplicate remembers its file's access mode: an EBADF answer the file itself gives
    /// (a write on a read-only file) is told apart from a number closed behind our back, even once
    /// the number names another descriptor of the same file.
    #[test]
    fn held_duplicate_knows_what_its_file_refuses() {
        let (r, w) = pipe();
        let hr = hold(r, file_id(r).unwrap()).unwrap();
        let hw = hold(w, file_id(w).unwrap()).unwrap();
        assert!(held_refuses(hr, Some(true)) && !held_refuses(hr, Some(false)) && !held_refuses(hr, None));
        assert!(held_refuses(hw, Some(false)) && !held_refuses(hw, Some(true)) && !held_refuses(hw, None));
        // Closed behind our back and the number taken by another descriptor of the same file:
        // the identity check passes, and the flags are still those of our duplicate. One `dup2`
        // over it, which closes and replaces at once: a `close` first would free the number for
        // a moment, and a test running in parallel in this process could open a file there (and
        // later close it under us: seen once in CI, `held_ok` false).
        // SAFETY: dup2 takes no pointers; both numbers are open.
        assert_eq!(unsafe { libc::dup2(w, hw.fd()) }, hw.fd());
        assert!(held_ok(hw), "same file, same identity");
        assert!(!held_refuses(hw, Some(true)), "a write on a pipe's write end is not refused");
        release(hr);
        release(hw);
        assert!(!held_refuses(hr, Some(true)), "unknown once released");
        for fd in [r, w] {
            close(fd);
        }
    }

    /// A submitter's `held_same_stands` that finds the caller's number naming our duplicate's
    /// open file stamps the check as `held_ok` does (its time, its generation); one that does not
    /// stamps nothing.
    #[test]
    fn a_submitters_same_file_answer_stands_for_the_workers_check() {
        let (r, w) = pipe();
        let h = hold(r, file_id(r).unwrap()).unwrap();
        let s = slot(h.fd(), false).unwrap();
        assert_eq!(s.checked.load(Relaxed), 0, "no check stands for a new duplicate");
        assert_eq!(held_same_stands(h, w), Some(false).filter(|_| held_same(h, w).is_some()));
        assert_eq!(s.checked.load(Relaxed), 0, "another open file: nothing stamped");
        let before = now().as_nanos() as u64;
        match held_same_stands(h, r) {
            None => {} // neither F_DUPFD_QUERY nor kcmp here: nothing to stamp with
            Some(same) => {
                assert!(same, "the number we duplicated");
                let c = s.checked.load(Relaxed);
                assert_eq!(c & 0xff, h.generation() as u64, "stamped for its generation");
                assert!(c >> 8 >= before, "at the time of the check");
            }
        }
        release(h);
        for fd in [r, w] {
            close(fd);
        }
    }

    /// A check by `held_ok` stands for `held_ok_recent` for `CHECK_STANDS` at most, and only for
    /// the slot generation it was made for: a number closed behind our back and given to another
    /// file is seen once the check is older, and a new duplicate at a number an older one had is
    /// checked for itself.
    #[test]
    fn recent_check_stands_briefly_and_for_its_generation_only() {
        let (r, w) = pipe();
        let (r2, w2) = pipe();
        let h = hold(r, file_id(r).unwrap()).unwrap();
        assert!(held_ok_recent(h, Duration::ZERO), "checked (no check stood yet)");
        // Someone closes our number and puts another pipe there.
        // SAFETY: dup2 takes no pointers; both numbers are ours (the test's).
        assert_eq!(unsafe { libc::dup2(r2, h.fd()) }, h.fd());
        std::thread::sleep(CHECK_STANDS * 2);
        assert!(!held_ok_recent(h, Duration::ZERO), "a check older than CHECK_STANDS is made again");
        assert!(!held_ok(h));
        // Ours again (the same pipe back at the number), checked, then a new generation there.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::dup2(r, h.fd()) }, h.fd());
        assert!(held_ok(h));
        release(h);
        let h2 = hold(w, file_id(w).unwrap()).unwrap();
        if h2.fd() == h.fd() {
            // (The lowest free high number again, unless a test running beside took it.)
            assert_ne!(h2.generation(), h.generation());
        }
        // SAFETY: as above.
        assert_eq!(unsafe { libc::dup2(w2, h2.fd()) }, h2.fd());
        assert!(!held_ok_recent(h2, Duration::ZERO), "the older generation's check does not stand for it");
        assert!(!held_ok_recent(h, Duration::ZERO), "nor for the released one");
        release(h2);
        assert!(is_open(h2.fd()), "not ours: left open");
        for fd in [r, w, r2, w2, h2.fd()] {
            close(fd);
        }
    }

    /// `F_DUPFD_QUERY` and `kcmp` give one answer: the same open file through another number,
    /// not the same file opened again, not a number that is not open (either side).
    #[test]
    fn query_and_kcmp_agree() {
        let path = std::env::temp_dir().join(format!("aio-rs-same-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let again = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        use std::os::fd::AsRawFd;
        let (a, b) = (f.as_raw_fd(), again.as_raw_fd());
        let d = dup_high(a).unwrap();
        let (r, w) = pipe();
        close(w);
        for (x, y, same) in [(a, d, true), (d, a, true), (a, b, false), (a, r, false), (a, w, false), (w, a, false)] {
            if let Some(q) = same_by_query(x, y) {
                assert_eq!(q, same, "F_DUPFD_QUERY {x} {y}");
            }
            if let Some(k) = same_by_kcmp(x, y) {
                assert_eq!(k, same, "kcmp {x} {y}");
            }
        }
        for fd in [d, r] {
            close(fd);
        }
    }

    #[test]
    fn access_modes_refused() {
        assert!(refuses(libc::O_RDONLY, Some(true)) && !refuses(libc::O_RDONLY, Some(false)));
        assert!(refuses(libc::O_WRONLY, Some(false)) && !refuses(libc::O_WRONLY, Some(true)));
        assert!(!refuses(libc::O_RDWR, Some(true)) && !refuses(libc::O_RDWR, Some(false)));
        assert!(refuses(libc::O_PATH, None) && !refuses(libc::O_RDONLY, None));
    }
}
