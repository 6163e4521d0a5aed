//! The per-descriptor table: what kind of file an fd is (cached), its ordering state, and the
//! bookkeeping of cancellation and helper hand-offs.

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use super::ordering::OrderState;
use crate::errno::Errno;
use crate::sys::{self, FileId, Held, Linked, Lock, Stack};

mod holds;
use holds::KEPT_ROOM;

/// Classification bits cached in `FdEntry::info`.
pub(crate) mod kind {
    pub(crate) const VALID: u32 = 1;
    /// Not seekable (pipe, socket, character device): offsets are ignored, order is kept.
    pub(crate) const STREAM: u32 = 2;
    /// Opened with O_DIRECT on a regular file or block device: kernel AIO is truly async.
    pub(crate) const DIRECT: u32 = 4;
    /// Opened with O_APPEND: writes keep submission order.
    pub(crate) const APPEND: u32 = 8;
    /// Not stored: this answer comes from the cache without a check (see `FdEntry::classify`).
    pub(crate) const UNCHECKED: u32 = 16;
    /// An anonymous inode (eventfd, timerfd, signalfd, inotify, epoll, pidfd, ...): not
    /// seekable, and only the workers serve it (see `submit::route`).
    pub(crate) const ANON: u32 = 32;
    /// A pipe or FIFO: its readiness tells what a read or write would do (a socket's does not:
    /// a listening one is never readable, while `read` fails at once).
    pub(crate) const FIFO: u32 = 64;
}

pub(crate) struct FdEntry {
    info: AtomicU32,
    /// Identity of the file the cached class describes (device, inode and type, mixed).
    ident: AtomicU64,
    /// 1 when the class was checked since the fd was last idle.
    fresh: AtomicU32,
    /// Ordering chains and fsync barriers (see `super::ordering`).
    pub(crate) order: OrderState,
    /// Non-zero while `aio_cancel(fd, NULL)` has a ring-wide cancel for this fd outstanding.
    pub(crate) cancelling: AtomicU32,
    kick_next: AtomicPtr<FdEntry>,
    kick_queued: AtomicU32,
    /// The duplicate shared by the requests on this number that hold their file: the `Held` word
    /// in the high 32 bits, the number of requests holding it in the low 32 (see `hold`). A word
    /// with a duplicate and a count of zero is *kept*: its last user was a worker's request, and
    /// the duplicate waits for the next request on this number until a worker goes to sleep
    /// (`FdTable::let_go_kept`).
    ///
    /// Lock-free protocol: every change is one compare-and-swap of the whole word, so each state
    /// has one owner of its transitions. A user is added only to a word whose duplicate was just
    /// checked to be of the caller's file and still ours (kept or shared); a kept word that fails
    /// that check is replaced by 0 and only the thread whose swap did that closes it, and so does
    /// the one whose swap let go of a kept word, or took a count to zero without keeping. A new
    /// duplicate is installed only over 0. A release finds its duplicate in the word with a
    /// non-zero count (then decrements) or not (then it was private, and it is closed alone). The
    /// duplicate's `Held` word carries a generation (`sys::Held`), so a word naming a number that
    /// was closed and reused by a newer duplicate of ours never matches the older one.
    shared: AtomicU64,
    /// Non-zero while this entry is in the table's list of kept duplicates.
    kept_listed: AtomicU32,
    /// Non-zero when a waiter claimed the last stream read parked on this number (`wait::local`):
    /// the next one may be left unregistered for its waiter (`ready::defer`). Taken (cleared) by
    /// the next read, and given back if that read finishes at its first attempt without parking
    /// (`Batch::keep_claimed_hint`, which counts such reads in it and lets it go after a few in a
    /// row): so a read nobody claims makes the next one register, and a read that found its data
    /// there changes nothing.
    /// Only a hint (relaxed): whatever it says, a parked request is taken out of the readiness
    /// set's table under its lock, once, by whoever comes first (a claim, `aio_cancel`, the
    /// poller when its time is up), so a stale value costs at most one late or one registered
    /// read, never a lost or doubled one.
    pub(crate) claimed_last: AtomicU32,
    /// Reads on this number still to be sent straight to an engine after an attempt on the
    /// caller's thread found nothing cached (see `engine::inline`).
    pub(crate) inline_skip: AtomicU16,
    /// Deferred reads on this number that missed the page cache since the last of its deferred
    /// reads that hit it (see `engine::inline::MISSES_BEFORE_SKIP`). Only a hint (relaxed). Two
    /// 16-bit counters in the place of one 32-bit one: the entry stays 256 bytes, a shift away
    /// from its index (264 bytes cost two instructions per page-cached read in the table lookup).
    pub(crate) defer_misses: AtomicU16,
    /// The file's size when last seen (`st_size`), for O_DIRECT writes (see
    /// [`FdEntry::direct_write_may_block`]); `u64::MAX` for a block device.
    size_seen: AtomicU64,
    /// The address of the aiocb of the last read on this number that `aio_read` considered for
    /// the page cache (see `engine::deferred::wants`): a read on another aiocb right after it is
    /// deferred into a batch, a read that reuses it (a depth-1 loop) is tried at once.
    pub(crate) last_read: AtomicUsize,
    /// Reads on this number still to be tried at once rather than deferred, after a flush found
    /// only one of its reads in the batch (see `engine::deferred::wants`).
    pub(crate) defer_skip: AtomicU32,
    /// Which pending batch of deferred reads checked this number's file, and the hold it took
    /// (the shared duplicate's `Held` word in the high 32 bits, the batch's key in the low 32):
    /// the later reads of that batch on this number share that hold (see `engine::deferred`).
    pub(crate) burst: AtomicU64,
}

impl FdEntry {
    const fn new() -> Self {
        FdEntry {
            info: AtomicU32::new(0),
            ident: AtomicU64::new(0),
            fresh: AtomicU32::new(0),
            order: OrderState::new(),
            cancelling: AtomicU32::new(0),
            kick_next: AtomicPtr::new(ptr::null_mut()),
            kick_queued: AtomicU32::new(0),
            shared: AtomicU64::new(0),
            kept_listed: AtomicU32::new(0),
            claimed_last: AtomicU32::new(0),
            inline_skip: AtomicU16::new(0),
            defer_misses: AtomicU16::new(0),
            size_seen: AtomicU64::new(0),
            last_read: AtomicUsize::new(0),
            defer_skip: AtomicU32::new(0),
            burst: AtomicU64::new(0),
        }
    }

    /// Makes a request on this number (`fd`) hold the open file the number names now: the
    /// duplicate the number's other requests share (or that the last of them kept), if it is of
    /// the same file and still ours, else a new one (shared from then on, or, if the number's
    /// shared one is of another file still in use, private). Sharing keeps the descriptors we hold
    /// to about one per open file rather than one per request, and keeping the last one makes a
    /// stream of requests on one file make it once. EBADF if `fd` is not open; EAGAIN if no
    /// descriptor can be had. Not async-signal-safe (`sys::hold`).
    pub(crate) fn hold(&self, fd: c_int) -> Result<Held, Errno> {
        self.hold_known(fd, None)
    }

    /// [`FdEntry::hold`] of a stream the caller classified earlier in the same call: the identity
    /// `classify` recorded stands for the one it read (saving an `fstat` when a new duplicate is
    /// made; should the number have changed in between, the duplicate's identity differs and its
    /// first check fails, as for [`FdEntry::hold_known`]). The file's type is recorded only to
    /// tell a regular file (which may carry record locks) from anything else.
    ///
    /// `after_attempt`: the caller's non-blocking transfer on `fd` in this same call just found
    /// nothing to move, so a new duplicate needs no `fcntl(F_GETFL)` and counts as checked
    /// (`sys::hold_after_attempt`).
    pub(crate) fn hold_classified(&self, fd: c_int, after_attempt: bool) -> Result<Held, Errno> {
        let k = self.info.load(Relaxed);
        let ident = self.ident.load(Relaxed);
        if k & kind::VALID == 0 || k & kind::STREAM == 0 || ident == 0 {
            return self.hold_with(fd, None, after_attempt);
        }
        let format = if k & kind::FIFO != 0 {
            libc::S_IFIFO
        } else if k & kind::ANON != 0 {
            0
        } else {
            libc::S_IFSOCK
        };
        self.hold_with(fd, Some(FileId { ident, format, size: 0 }), after_attempt)
    }

    /// [`FdEntry::hold`], with the identity of `fd`'s file if the caller read it just now
    /// (`classify` did), which saves an `fstat` when a new duplicate must be made.
    ///
    /// Whether the number's duplicate is still ours and of the file `fd` names is one `fcntl`
    /// or `kcmp` (`sys::held_same`: the same open file, so a file opened again with another access
    /// mode at the number is not taken for the old one); where neither can be used, an `fstat` of `fd`
    /// and one of the duplicate (`sys::held_ok`), which compare the inode only.
    pub(crate) fn hold_known(&self, fd: c_int, id: Option<FileId>) -> Result<Held, Errno> {
        self.hold_with(fd, id, false)
    }

    /// [`FdEntry::hold_known`]; a new duplicate is made by `sys::hold_after_attempt` if
    /// `after_attempt` (see [`FdEntry::hold_classified`]).
    fn hold_with(&self, fd: c_int, mut id: Option<FileId>, after_attempt: bool) -> Result<Held, Errno> {
        let new_dup = if after_attempt { sys::hold_after_attempt } else { sys::hold };
        let mut id_of = || -> Result<FileId, Errno> {
            if let Some(i) = id {
                return Ok(i);
            }
            let i = sys::file_id(fd)?;
            id = Some(i);
            Ok(i)
        };
        // The duplicate last checked in this call and found right: a compare-and-swap that fails
        // because a count moved meanwhile does not make it check again.
        let mut checked: Option<Held> = None;
        loop {
            let cur = self.shared.load(Acquire);
            let users = cur as u32;
            let Some(h) = Held::from_word((cur >> 32) as u32) else {
                let h = new_dup(fd, id_of()?)?;
                if self.shared.compare_exchange(cur, (h.to_word() as u64) << 32 | 1, AcqRel, Acquire).is_ok() {
                    return Ok(h);
                }
                sys::release(h);
                continue;
            };
            let same = checked == Some(h)
                || match sys::held_same_stands(h, fd) {
                    Some(same) => same,
                    None => sys::held_ident(h) == id_of()?.ident && sys::held_ok(h),
                };
            if same {
                checked = Some(h);
                if self.shared.compare_exchange(cur, cur + 1, AcqRel, Acquire).is_ok() {
                    return Ok(h);
                }
                continue;
            }
            if users > 0 {
                // Another file's, still in use (the number was closed and reused meanwhile).
                return new_dup(fd, id_of()?);
            }
            // Kept, but of another file now, or taken from us: let it go, then look again.
            if self.shared.compare_exchange(cur, 0, AcqRel, Acquire).is_ok() {
                sys::release(h);
            }
        }
    }

    /// The number of the duplicate this number's requests share, if any.
    pub(crate) fn shared_fd(&self) -> Option<c_int> {
        let cur = self.shared.load(Acquire);
        if cur as u32 == 0 {
            return None;
        }
        Held::from_word((cur >> 32) as u32).map(Held::fd)
    }

    /// Gives up a hold made by [`FdEntry::hold`] on this number. With `keep` (the caller is a
    /// worker, which lets go of kept duplicates before it sleeps), the last user of the shared
    /// duplicate keeps it for the next request: true then, and the caller lists the entry
    /// ([`FdTable::release_hold`]). Async-signal-safe.
    pub(crate) fn release_hold(&self, h: Held, keep: bool) -> bool {
        self.release_hold_with(h, 1, keep, sys::release)
    }

    /// [`FdEntry::release_hold`] (without keeping) of a duplicate its caller checked right before
    /// its last transfer (see `sys::release_checked`). Async-signal-safe.
    pub(crate) fn release_hold_checked(&self, h: Held) {
        self.release_hold_with(h, 1, false, sys::release_checked);
    }

    /// Gives up `n` holds of `h` at once (a private `h` is held by one request: `n` is 1 then),
    /// with `keep` as [`FdEntry::release_hold`]; `release` lets go of a duplicate.
    pub(super) fn release_hold_with(&self, h: Held, n: u32, keep: bool, release: fn(Held)) -> bool {
        loop {
            let cur = self.shared.load(Acquire);
            if (cur >> 32) as u32 != h.to_word() || cur as u32 == 0 {
                // A private one.
                debug_assert!(n == 1, "{n} holds of a private duplicate");
                release(h);
                return false;
            }
            debug_assert!(cur as u32 >= n, "{n} holds of a duplicate with {} users", cur as u32);
            let last = cur as u32 == n;
            let next = if last && !keep { 0 } else { cur - n as u64 };
            if self.shared.compare_exchange(cur, next, AcqRel, Acquire).is_ok() {
                if last && !keep {
                    release(h);
                }
                return last && keep;
            }
        }
    }

    /// Closes the kept duplicate, if the word still keeps one (nobody took it meanwhile).
    fn let_go(&self) {
        let cur = self.shared.load(SeqCst);
        if cur as u32 != 0 {
            return;
        }
        if let Some(h) = Held::from_word((cur >> 32) as u32) {
            if self.shared.compare_exchange(cur, 0, SeqCst, SeqCst).is_ok() {
                sys::release(h);
            }
        }
    }

    /// The cached classification, checked whenever the fd is idle (nothing in flight and nothing
    /// waiting): a descriptor number may have been closed and reopened as another file since we
    /// last saw it, and we cannot observe `close`. The check is one `fstat`: if the file's
    /// identity (device, inode, type) is unchanged, the cached open flags are kept; otherwise they
    /// are read again with `fcntl(F_GETFL)`. While requests are in flight the fd cannot change
    /// under them, so the cache is used as is.
    ///
    /// Known limit: `fcntl(F_SETFL)` toggling O_APPEND or O_DIRECT on an fd we already know, or
    /// the same file reopened with other flags, is seen only when the identity changes. The
    /// effect is bounded: ordering for appends that nothing else would order, or kernel AIO used on
    /// a buffered file (it then completes inside `io_submit`).
    ///
    /// A lone request (the fd idle) on a queue with io_uring (`lone_ok`) skips even that check,
    /// because whatever the fd has become, io_uring gets an offset that is right for it: a
    /// buffered file's request carries its explicit offset, which is right for any seekable file
    /// and ignored by pipes, ttys and character devices (a socket answers ESPIPE without being
    /// touched, and the reaper re-issues the request as a stream); a stream's request carries
    /// offset 0, which is right for a stream and, when `aio_offset` is 0 (`offset_zero`; else we
    /// check), for a file too. Ordering cannot matter for a lone request; a stale O_APPEND or
    /// stream class only orders what needed no ordering. Such an answer carries
    /// `kind::UNCHECKED`, and an unchecked O_DIRECT request goes to io_uring, not to kernel AIO,
    /// where a stale class could make `io_submit` block on a pipe. The first request that finds
    /// others in flight checks the class; if it changed to one that needs ordering, the second
    /// return value is true and the caller drains the fd before issuing.
    ///
    /// The third value is the identity `fstat` gave, if it was asked (for [`FdEntry::hold_known`]).
    ///
    /// A number last seen as a pipe or FIFO is checked, while idle, with `F_GETPIPE_SZ` instead of
    /// `fstat` (half its cost, on every pipe request): every pipe has the same class (its open
    /// flags matter to nothing but ordering, and a stream is ordered anyway), so that it is still
    /// *a* pipe is all the class needs. It may be another pipe, though, so the recorded identity
    /// is forgotten (0): a hold then asks the number's identity itself ([`FdEntry::hold_classified`]).
    /// Not on a number whose last parked read a waiter claimed (`claimed_last`): its next read will
    /// probably wait, and hold its file, which needs the identity `fstat` gives anyway.
    pub(crate) fn classify(
        &self,
        fd: c_int,
        lone_ok: bool,
        offset_zero: bool,
    ) -> Result<(u32, bool, Option<FileId>), Errno> {
        let cached = self.info.load(Relaxed);
        // (Not where the check is skipped altogether: `lone_ok` below.)
        let pipe = cached & (kind::VALID | kind::FIFO) == kind::VALID | kind::FIFO
            && !(lone_ok && offset_zero)
            && self.claimed_last.load(Relaxed) == 0;
        if pipe && !self.order.busy_hint() && sys::is_pipe(fd) {
            self.ident.store(0, Relaxed);
            self.fresh.store(1, Relaxed);
            return Ok((cached, false, None));
        }
        self.classify_with(lone_ok, offset_zero, || sys::file_id(fd), || sys::status_flags(fd))
    }

    /// [`FdEntry::classify`] with the two questions to the descriptor passed in (the tests ask
    /// a pretend descriptor).
    fn classify_with(
        &self,
        lone_ok: bool,
        offset_zero: bool,
        file_id: impl FnOnce() -> Result<FileId, Errno>,
        status_flags: impl FnOnce() -> Result<c_int, Errno>,
    ) -> Result<(u32, bool, Option<FileId>), Errno> {
        let cached = self.info.load(Relaxed);
        let busy = self.order.busy_hint();
        if cached & kind::VALID != 0 {
            if busy && self.fresh.load(Relaxed) != 0 {
                return Ok((cached, false, None));
            }
            if !busy && lone_ok && (cached & kind::STREAM == 0 || offset_zero) {
                self.fresh.store(0, Relaxed);
                return Ok((cached | kind::UNCHECKED, false, None));
            }
        }
        let id = file_id()?;
        let fresh = if cached & kind::VALID != 0 && self.ident.load(Relaxed) == id.ident {
            cached
        } else {
            class_of(id.format, status_flags()?)
        };
        self.ident.store(id.ident, Relaxed);
        self.see_size(id);
        self.info.store(fresh, Relaxed);
        self.fresh.store(1, Relaxed);
        let order_bits = kind::STREAM | kind::APPEND;
        Ok((fresh, busy && (fresh & order_bits) != (cached & order_bits), Some(id)))
    }

    /// Records the size `fstat` just gave (a block device has none: every write is within it).
    fn see_size(&self, id: FileId) {
        self.size_seen.store(if id.format == libc::S_IFBLK { u64::MAX } else { id.size }, Relaxed);
    }

    /// Whether an O_DIRECT write on this number (`fd`, its class just checked) of `len` bytes at
    /// `off`, whose buffer addresses and lengths OR to `align`, may make `io_submit` wait for the
    /// device: ext4 (and XFS) run a direct write that extends the file, or one not aligned to the
    /// file system block, synchronously inside the submitting call, after waiting for the file's
    /// other direct I/O (measured with aiocp on ext4: `io_submit` 9.5 ms median, 573 ms at worst).
    /// Such a write must not go to kernel AIO: the caller would block. An aligned write within the
    /// size last seen costs nothing to check; one past it costs an `fstat` (which also catches a
    /// file grown by others). A file truncated by another process since we looked is seen at the
    /// next check of the class, when the fd is idle.
    pub(crate) fn direct_write_may_block(&self, fd: c_int, off: i64, len: usize, align: u64) -> bool {
        /// The file system block size we assume (4 KiB: ext4 and XFS defaults on x86_64).
        const FS_BLOCK: u64 = 4096;
        if (align | off as u64 | len as u64) & (FS_BLOCK - 1) != 0 {
            return true;
        }
        let end = (off as u64).saturating_add(len as u64);
        if end <= self.size_seen.load(Relaxed) {
            return false;
        }
        match sys::file_id(fd) {
            Ok(id) => {
                self.see_size(id);
                id.format != libc::S_IFBLK && end > id.size
            }
            // The number is gone: the request fails wherever it goes.
            Err(_) => false,
        }
    }

    /// The class this number had when it was last classified (`kind` bits; 0: never), without
    /// any check: what the number names now may differ (see [`FdEntry::classify`]).
    #[inline(always)]
    pub(crate) fn class_hint(&self) -> u32 {
        self.info.load(Relaxed)
    }

    /// Forgets the class (a completion showed it was stale).
    pub(crate) fn invalidate(&self) {
        self.info.store(0, Relaxed);
    }
}

/// The class bits for a file of type `fmt` (`S_IFMT` bits) opened with flags `fl`.
pub(crate) fn class_of(fmt: libc::mode_t, fl: c_int) -> u32 {
    let mut k = kind::VALID;
    if matches!(fmt, libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFCHR) {
        k |= kind::STREAM;
    }
    if fmt == libc::S_IFIFO {
        k |= kind::FIFO;
    }
    // No file type at all: an anonymous inode. `pread` answers ESPIPE (EINVAL for a pidfd) where
    // `read` works (or gives the errno the program expects): a stream.
    if fmt == 0 {
        k |= kind::STREAM | kind::ANON;
    }
    if fl & libc::O_DIRECT != 0 && matches!(fmt, libc::S_IFREG | libc::S_IFBLK) {
        k |= kind::DIRECT;
    }
    if fl & libc::O_APPEND != 0 {
        k |= kind::APPEND;
    }
    k
}

const CHUNK: usize = 1024;
const CHUNKS: usize = 4096;

/// Two-level table indexed by descriptor number; chunks are allocated on first use and never
/// freed while the engine lives, so `&FdEntry` references live as long as the engine.
pub(crate) struct FdTable {
    chunks: Box<[AtomicPtr<FdEntry>]>,
    /// Entries whose shared duplicate a worker kept (see `FdEntry::shared`), each at most once
    /// (`FdEntry::kept_listed`); emptied by [`FdTable::let_go_kept`].
    kept: Lock<Vec<usize>>,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub(crate) fn new() -> Self {
        FdTable {
            chunks: (0..CHUNKS).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            kept: Lock::new(Vec::with_capacity(KEPT_ROOM)),
        }
    }

    /// The entry for `fd`, allocating its chunk if needed (not async-signal-safe).
    #[inline(always)]
    pub(crate) fn entry(&self, fd: c_int) -> Result<&FdEntry, Errno> {
        match self.get(fd) {
            Some(fe) => Ok(fe),
            None => self.entry_new(fd),
        }
    }

    /// [`FdTable::entry`] for a number out of range (EBADF) or whose chunk was not made yet.
    #[cold]
    #[inline(never)]
    fn entry_new(&self, fd: c_int) -> Result<&FdEntry, Errno> {
        if fd < 0 || fd as usize >= CHUNK * CHUNKS {
            return Err(Errno::EBADF);
        }
        let (c, i) = (fd as usize / CHUNK, fd as usize % CHUNK);
        let mut p = self.chunks[c].load(Acquire);
        if p.is_null() {
            let fresh: Box<[FdEntry]> = (0..CHUNK).map(|_| FdEntry::new()).collect();
            let fresh = Box::into_raw(fresh) as *mut FdEntry;
            match self.chunks[c].compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
                Ok(_) => p = fresh,
                Err(existing) => {
                    // SAFETY: we created `fresh` above and nobody else has seen it.
                    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                    p = existing;
                }
            }
        }
        // SAFETY: p points to a live chunk of CHUNK entries that is never freed while the table
        // lives, and i < CHUNK.
        Ok(unsafe { &*p.add(i) })
    }

    /// Gives up `h`, a hold made through `fd`'s entry; with `keep`, as a worker (see
    /// `FdEntry::release_hold`: then not async-signal-safe, it may list the entry).
    /// Async-signal-safe without `keep`.
    pub(crate) fn release_hold(&self, fd: c_int, h: Held, keep: bool) {
        match self.get(fd) {
            Some(fe) => {
                // The kept word is stored before the flag is looked at, and `let_go_kept` clears
                // the flag before it looks at the word (all SeqCst): a keep that finds the entry
                // listed is seen by the one who takes it off the list.
                if fe.release_hold(h, keep) {
                    self.list_kept(fe, true);
                }
            }
            None => sys::release(h),
        }
    }

    /// [`FdTable::release_hold`] without keeping, of a duplicate its caller checked right before
    /// its last transfer (see `sys::release_checked`). Async-signal-safe.
    pub(crate) fn release_hold_checked(&self, fd: c_int, h: Held) {
        match self.get(fd) {
            Some(fe) => fe.release_hold_checked(h),
            None => sys::release_checked(h),
        }
    }

    /// Closes every duplicate kept by a worker's request that nobody took since (a worker calls
    /// this before it sleeps). Not async-signal-safe.
    pub(crate) fn let_go_kept(&self) {
        let room = Vec::with_capacity(KEPT_ROOM);
        let list = core::mem::replace(&mut *self.kept.lock(), room);
        for p in list {
            // SAFETY: entries live as long as the table (chunks are never freed).
            let fe = unsafe { &*(p as *const FdEntry) };
            fe.kept_listed.store(0, SeqCst);
            fe.let_go();
        }
    }

    /// The entry for `fd` if its chunk exists (async-signal-safe).
    #[inline(always)]
    pub(crate) fn get(&self, fd: c_int) -> Option<&FdEntry> {
        let c = self.chunks.get(fd as u32 as usize / CHUNK)?;
        let p = c.load(Acquire);
        // SAFETY: a non-NULL chunk holds CHUNK entries and is never freed while the table lives;
        // the index is below CHUNK.
        (!p.is_null()).then(|| unsafe { &*p.add(fd as usize % CHUNK) })
    }
}

// SAFETY: `link` always returns `kick_next`, which only the `Kicks` stack touches.
unsafe impl Linked for FdEntry {
    unsafe fn link<'a>(node: *mut Self) -> &'a AtomicPtr<Self> {
        // SAFETY: the caller guarantees `node` is live for 'a.
        unsafe { &(*node).kick_next }
    }
}

/// Fds whose lists a helper thread must re-evaluate (a completion reaped where the fd's lock
/// could not be had): the crate's lock-free stack (`sys::Stack`), with each entry in it at most
/// once (`kick_queued`).
pub(crate) struct Kicks(Stack<FdEntry>);

impl Kicks {
    pub(crate) const fn new() -> Self {
        Kicks(Stack::new())
    }

    /// Returns false if the entry was already queued. Async-signal-safe.
    pub(crate) fn push(&self, e: &FdEntry) -> bool {
        if e.kick_queued.swap(1, AcqRel) != 0 {
            return false;
        }
        // SAFETY: table entries live as long as the engine; `kick_queued` makes this push the
        // only one until the entry is taken, so it is in no stack.
        unsafe { self.0.push(e as *const FdEntry as *mut FdEntry) };
        true
    }

    /// Calls `f` for every queued entry.
    pub(crate) fn take_all(&self, mut f: impl FnMut(&FdEntry)) {
        for p in self.0.take_all() {
            // SAFETY: entries live as long as the engine.
            let e = unsafe { &*p };
            e.kick_queued.store(0, Release);
            f(e);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// A pretend descriptor: what fstat and F_GETFL would say, and how often they were asked.
    struct Fake {
        id: Cell<FileId>,
        flags: Cell<c_int>,
        stats: Cell<u32>,
        getfls: Cell<u32>,
    }

    impl Fake {
        fn new(format: libc::mode_t, ident: u64, flags: c_int) -> Fake {
            Fake {
                id: Cell::new(FileId { ident, format, size: 0 }),
                flags: Cell::new(flags),
                stats: Cell::new(0),
                getfls: Cell::new(0),
            }
        }

        fn classify(&self, e: &FdEntry, lone_ok: bool, offset_zero: bool) -> (u32, bool) {
            e.classify_with(
                lone_ok,
                offset_zero,
                || {
                    self.stats.set(self.stats.get() + 1);
                    Ok(self.id.get())
                },
                || {
                    self.getfls.set(self.getfls.get() + 1);
                    Ok(self.flags.get())
                },
            )
            .map(|(k, changed, _)| (k, changed))
            .unwrap()
        }

        fn asked(&self) -> (u32, u32) {
            (self.stats.get(), self.getfls.get())
        }
    }

    /// A scratch file of this test's own (removed at once; the descriptor keeps it).
    fn scratch(name: &str) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("aio-rs-{name}-{}", std::process::id()));
        let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    /// The last release by a worker keeps the shared duplicate for the next request on the number
    /// (no new `dup`); a worker about to sleep lets it go. A kept one that no longer names the
    /// number's file is let go by the next hold, which makes a new one; one taken from us
    /// (closefrom) is not closed by us. (An entry stands for a number; the tests pass the
    /// descriptor that number would name at each step.)
    #[test]
    fn kept_duplicate_serves_the_next_request_until_let_go() {
        use std::os::fd::AsRawFd;
        let (a, b) = (scratch("kept-a"), scratch("kept-b"));
        let fd = a.as_raw_fd();
        let t = FdTable::new();
        let e = t.entry(fd).unwrap();
        let h = e.hold(fd).unwrap();
        t.release_hold(fd, h, true);
        assert!(sys::held_ok(h), "kept open");
        assert_eq!(e.hold(fd).unwrap(), h, "the next request takes the kept one");
        t.release_hold(fd, h, true);
        t.let_go_kept();
        assert!(!sys::held_ok(h) && e.shared.load(SeqCst) == 0, "let go before the worker sleeps");
        // Kept, then the number names another file: a new duplicate, of that file.
        let h = e.hold(fd).unwrap();
        t.release_hold(fd, h, true);
        let other = b.as_raw_fd();
        let h2 = e.hold(other).unwrap();
        assert!(h2 != h && !sys::held_ok(h), "the stale one was let go");
        assert_eq!(sys::held_ident(h2), sys::file_id(other).unwrap().ident);
        // Kept, then taken from us (closed behind our back): a new one.
        t.release_hold(fd, h2, true);
        sys::close(h2.fd());
        let h3 = e.hold(other).unwrap();
        assert!(h3 != h2 && sys::held_ok(h3) && !sys::held_ok(h2));
        // A release without keeping closes at once.
        t.release_hold(fd, h3, false);
        assert!(!sys::held_ok(h3) && e.shared.load(SeqCst) == 0);
        t.let_go_kept();
    }

    /// The same file opened again (another open file description, here read-only) at the number
    /// is not taken for the kept duplicate of the earlier, writable one: a write through it must
    /// fail as the program's would.
    #[test]
    fn kept_duplicate_is_not_taken_for_the_same_file_opened_again() {
        use std::os::fd::AsRawFd;
        let a = scratch("again");
        let fd = a.as_raw_fd();
        let t = FdTable::new();
        let e = t.entry(fd).unwrap();
        let h = e.hold(fd).unwrap();
        t.release_hold(fd, h, true);
        let again = std::fs::File::open(format!("/proc/self/fd/{fd}")).unwrap();
        let h2 = e.hold(again.as_raw_fd()).unwrap();
        if sys::held_same(h2, again.as_raw_fd()).is_none() {
            eprintln!("F_DUPFD_QUERY and kcmp unusable here: only the inode is compared");
            t.release_hold(fd, h2, false);
            return;
        }
        assert!(h2 != h && !sys::held_ok(h), "a new duplicate; the kept one let go");
        assert!(sys::held_refuses(h2, Some(true)), "the new one is read-only, as the program's");
        t.release_hold(fd, h2, false);
    }

    #[test]
    fn class_bits() {
        assert_eq!(class_of(libc::S_IFREG, libc::O_RDWR), kind::VALID);
        assert_eq!(class_of(libc::S_IFREG, libc::O_DIRECT | libc::O_APPEND), kind::VALID | kind::DIRECT | kind::APPEND);
        assert_eq!(class_of(libc::S_IFBLK, libc::O_DIRECT), kind::VALID | kind::DIRECT);
        for stream in [libc::S_IFIFO, libc::S_IFSOCK, libc::S_IFCHR] {
            let fifo = if stream == libc::S_IFIFO { kind::FIFO } else { 0 };
            assert_eq!(
                class_of(stream, libc::O_DIRECT),
                kind::VALID | kind::STREAM | fifo,
                "O_DIRECT means nothing on a stream"
            );
        }
        // No file type: an anonymous inode (eventfd, epoll, pidfd, ...), a stream the workers serve.
        assert_eq!(class_of(0, libc::O_RDWR | libc::O_DIRECT), kind::VALID | kind::STREAM | kind::ANON);
        assert_eq!(class_of(libc::S_IFDIR, libc::O_RDONLY), kind::VALID, "a directory is read like a file");
    }

    #[test]
    fn idle_fd_is_checked_with_one_fstat() {
        let e = FdEntry::new();
        let f = Fake::new(libc::S_IFREG, 7, libc::O_RDWR);
        assert_eq!(f.classify(&e, false, false), (kind::VALID, false));
        assert_eq!(f.asked(), (1, 1), "first sight: fstat and F_GETFL");
        assert_eq!(f.classify(&e, false, false), (kind::VALID, false));
        assert_eq!(f.asked(), (2, 1), "idle: one fstat, same file, flags kept");
        // The number now names another file: its flags are read again.
        f.id.set(FileId { ident: 8, format: libc::S_IFREG, size: 0 });
        f.flags.set(libc::O_APPEND);
        assert_eq!(f.classify(&e, false, false), (kind::VALID | kind::APPEND, false));
        assert_eq!(f.asked(), (3, 2));
    }

    #[test]
    fn busy_fd_uses_the_cache() {
        let e = FdEntry::new();
        let f = Fake::new(libc::S_IFIFO, 1, 0);
        f.classify(&e, false, false);
        assert!(e.order.try_fast().is_some(), "one request in flight");
        let asked = f.asked();
        assert_eq!(f.classify(&e, false, false), (kind::VALID | kind::STREAM | kind::FIFO, false));
        assert_eq!(f.asked(), asked, "checked since the fd was last idle: no system call");
    }

    #[test]
    fn lone_request_on_a_ring_skips_the_check() {
        let e = FdEntry::new();
        let f = Fake::new(libc::S_IFREG, 1, libc::O_DIRECT);
        f.classify(&e, true, false);
        let asked = f.asked();
        let (k, changed) = f.classify(&e, true, false);
        assert_eq!((k, changed), (kind::VALID | kind::DIRECT | kind::UNCHECKED, false));
        assert_eq!(f.asked(), asked);
        // A stream is trusted unchecked only at offset 0 (right for a file too).
        let s = FdEntry::new();
        let p = Fake::new(libc::S_IFSOCK, 2, 0);
        p.classify(&s, true, true);
        let asked = p.asked();
        assert_eq!(p.classify(&s, true, true).0 & kind::UNCHECKED, kind::UNCHECKED);
        assert_eq!(p.asked(), asked);
        assert_eq!(p.classify(&s, true, false).0 & kind::UNCHECKED, 0, "offset != 0: check");
        assert_eq!(p.asked().0, asked.0 + 1);
    }

    #[test]
    fn class_change_under_requests_in_flight_asks_for_a_drain() {
        let e = FdEntry::new();
        let f = Fake::new(libc::S_IFREG, 1, 0);
        f.classify(&e, true, false);
        // Lone requests skip the check, which leaves the cache unchecked ...
        f.classify(&e, true, false);
        assert!(e.order.try_fast().is_some());
        // ... so the next request, finding one in flight, checks: the number is now a pipe.
        f.id.set(FileId { ident: 9, format: libc::S_IFIFO, size: 0 });
        assert_eq!(f.classify(&e, true, false), (kind::VALID | kind::STREAM | kind::FIFO, true));
        // A change that needs no ordering asks for none.
        let g = FdEntry::new();
        let h = Fake::new(libc::S_IFREG, 1, 0);
        h.classify(&g, true, false);
        h.classify(&g, true, false);
        assert!(g.order.try_fast().is_some());
        h.flags.set(libc::O_DIRECT);
        h.id.set(FileId { ident: 3, format: libc::S_IFREG, size: 0 });
        assert_eq!(h.classify(&g, true, false), (kind::VALID | kind::DIRECT, false));
        g.invalidate();
        assert_eq!(h.classify(&g, false, false).0, kind::VALID | kind::DIRECT, "an invalidated class is read again");
    }
}
