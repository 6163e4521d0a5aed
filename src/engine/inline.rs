//! Reads served on the caller's thread: a buffered read (plain or vectored) whose data is all in
//! the page cache is done by `aio_read` (`aio_readv`) itself, in one `preadv2(RWF_NOWAIT)`, and completed before it returns
//! (status published, then its notification sent, exactly like any completion). Only a read that
//! would wait for the device goes to an engine.
//!
//! Why: a page-cache hit costs 0.6 µs by `pread` on the reference machine against 1.0 µs through
//! raw io_uring, and the worker engine (all that is left where io_uring is forbidden) would hand
//! it to another thread at 12 µs per wake-up. A hit done here never enters io_uring either, so
//! its completion cannot interrupt a system call of the caller (io_uring's task work does that).
//!
//! When: only with the default routing (an `AIO_RS_BACKEND` that forces an engine sends every
//! request to it, so each engine stays testable on its own), only for a read, and only on a
//! descriptor whose class says a seekable file that is not O_DIRECT. The class can be stale (the
//! attempt goes by the class the number had when it was last classified, `FdEntry::class_hint`,
//! without a check; a lone request on an idle descriptor skips the check too, see
//! `FdEntry::classify`), and a
//! `RWF_NOWAIT` read of an O_DIRECT file still waits for the device, so the open flags are read
//! again (`fcntl(F_GETFL)`, one system call) right before the attempt. That answer cannot be
//! cached: between two calls the program may close the number and open (or `dup2`) a file with
//! O_DIRECT there, which no call of ours sees (c-tests/read_direct_reuse.c); no cheaper question
//! tells that a number still names the same open file. What the class got wrong
//! otherwise costs nothing: a pipe, socket or tty answers ESPIPE to a read at an offset, a file
//! that cannot read without waiting answers EOPNOTSUPP, and the request then takes its usual path.
//!
//! What counts as done: the whole length read, or 0 bytes (end of file). A short count means the
//! cache held only the first part, or the file ends inside the request: the request then goes to
//! its engine whole, which reads those bytes again (harmless for a read) and tells the two apart.
//! After an attempt that did not finish the read (a miss, or a descriptor that cannot read this
//! way) the next [`SKIP_AFTER_MISS`] reads on the descriptor go straight to the engine, so a file
//! read cold pays the attempt once in that many requests, not each time.

use core::sync::atomic::Ordering::Relaxed;

use super::fd::table::{kind, FdEntry};
use super::request::{Backend, Op, Req, Span};
use crate::sys;

/// Reads sent straight to the engine after one found nothing cached.
pub(crate) const SKIP_AFTER_MISS: u16 = 16;

/// Deferred reads on a number that missed the page cache, with none of its deferred reads
/// hitting it in between, after which its next reads skip the page cache
/// ([`SKIP_AFTER_MISS`]: straight to the workers, neither tried at once nor deferred).
/// One miss is not enough: a page-cached file loses a page now and then (reclaim: on the
/// reference VM a few of the 16,384 pages of a 64 MiB file every second), and sending the next
/// 16 reads to the workers for each evicted page read turns a depth-64 loop's rounds of 64
/// batched hits into rounds that poll requests left with the workers (callgrind, a loop of
/// `aio_read`, `aio_suspend`, `aio_error`, `aio_return` at depth 64 with 64 pages evicted: 492 to
/// 2,318 instructions per request from run to run, 580 to 594 with this rule). A cold file
/// misses every read of a batch, and still skips after the first few.
pub(crate) const MISSES_BEFORE_SKIP: u16 = 8;

/// Counts a miss of a deferred read (`engine::deferred`) on number entry `fe`
/// (`complete::after_miss`): the number's reads skip the page cache once [`MISSES_BEFORE_SKIP`]
/// missed in a row (a hit resets the count: `complete::Hits`, `complete::finish_deferred`).
///
/// Racy on purpose, as `inline_skip` (relaxed loads and stores, no read-modify-write): two
/// flushers or a flusher and a reaper of hits racing may lose a count or a reset, so the skip
/// comes a miss earlier or later. The count only chooses which path later reads take (a batch or
/// the workers), each of which completes a read exactly once; no request's outcome reads it.
pub(crate) fn deferred_missed(fe: &FdEntry) {
    let n = fe.defer_misses.load(Relaxed) + 1;
    if n >= MISSES_BEFORE_SKIP {
        fe.defer_misses.store(0, Relaxed);
        fe.inline_skip.store(SKIP_AFTER_MISS, Relaxed);
    } else {
        fe.defer_misses.store(n, Relaxed);
    }
}

/// Whether a request of operation `op` (at its offset, not at the file position) on a descriptor
/// of class `k` may be tried here.
pub(crate) fn eligible(op: Op, k: u32, forced: Option<Backend>) -> bool {
    matches!(op, Op::Read | Op::Readv)
        && forced.is_none()
        && k & (kind::VALID | kind::STREAM | kind::DIRECT | kind::ANON) == kind::VALID
}

/// Tries `req` (a read of operation `op` eligible by [`eligible`], on descriptor `fd` with entry
/// `fe`) on the caller's thread: `Some(result)` if it is done (the byte count, or 0 at end of
/// file), None if it must go to an engine (its buffers may have been written meanwhile: the engine
/// writes them again).
#[inline(always)]
pub(crate) fn try_read(fe: &FdEntry, fd: i32, op: Op, req: &Req<'_>) -> Option<isize> {
    let skip = fe.inline_skip.load(Relaxed);
    if skip != 0 {
        // Racy on purpose: concurrent readers may skip one more or one fewer. A load and a store,
        // not a `fetch_sub`: two readers that both saw 1 would take the count below zero, to
        // 65,535 skipped attempts; a lost store costs at most one.
        fe.inline_skip.store(skip - 1, Relaxed);
        return None;
    }
    match sys::status_flags(fd) {
        Ok(fl) if fl & libc::O_DIRECT == 0 => {}
        _ => return None,
    }
    let span = req.whole(op);
    // SAFETY: the caller of `aio_read` (`aio_readv`) guarantees the buffer (the iovec array and
    // its buffers) stays valid and writable until the request completes, which is after this call.
    let n = unsafe {
        match span {
            Span::Buf(b, len) => sys::transfer_one(fd, false, b, len, req.offset(), true),
            Span::Vec(v, cnt) => sys::transfer_vec(fd, false, v, cnt, req.offset(), true),
        }
    };
    // SAFETY: a count (not EFAULT) means the kernel read the iovec array: it is readable.
    if n == 0 || (n > 0 && n as usize == unsafe { span.len() }) {
        return Some(n);
    }
    // A miss, a short count, or a descriptor that cannot read this way at all (EOPNOTSUPP from a
    // file system without RWF_NOWAIT, ESPIPE from a stale class, an error the engine will report
    // again): the next reads skip the attempt, so such a descriptor does not pay two useless
    // system calls per read.
    fe.inline_skip.store(SKIP_AFTER_MISS, Relaxed);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fd::table::class_of;

    #[test]
    fn only_reads_of_buffered_seekable_files_with_default_routing() {
        let buffered = class_of(libc::S_IFREG, libc::O_RDWR);
        let append = class_of(libc::S_IFREG, libc::O_RDWR | libc::O_APPEND);
        let block = class_of(libc::S_IFBLK, libc::O_RDONLY);
        assert!(eligible(Op::Read, buffered, None));
        assert!(eligible(Op::Readv, buffered, None));
        assert!(!eligible(Op::Writev, buffered, None));
        assert!(eligible(Op::Read, buffered | kind::UNCHECKED, None), "F_GETFL is asked before the attempt");
        assert!(eligible(Op::Read, append, None), "O_APPEND orders writes only");
        assert!(eligible(Op::Read, block, None));
        assert!(!eligible(Op::Write, buffered, None));
        assert!(!eligible(Op::Fsync, buffered, None));
        assert!(!eligible(Op::Read, buffered, Some(Backend::Uring)), "a forced engine takes every request");
        assert!(!eligible(Op::Read, buffered, Some(Backend::Threads)));
        assert!(!eligible(Op::Read, class_of(libc::S_IFREG, libc::O_RDONLY | libc::O_DIRECT), None));
        assert!(!eligible(Op::Read, class_of(libc::S_IFBLK, libc::O_DIRECT), None));
        assert!(!eligible(Op::Read, class_of(libc::S_IFIFO, libc::O_RDONLY), None));
        assert!(!eligible(Op::Read, class_of(libc::S_IFSOCK, libc::O_RDWR), None));
        assert!(!eligible(Op::Read, class_of(0, libc::O_RDWR), None), "anonymous inode");
        assert!(!eligible(Op::Read, 0, None), "no class");
    }

    #[test]
    fn reads_skip_the_page_cache_only_after_a_run_of_misses() {
        let t = crate::engine::fd::table::FdTable::new();
        let fe = t.entry(7).unwrap();
        for _ in 1..MISSES_BEFORE_SKIP {
            deferred_missed(fe);
        }
        assert_eq!(fe.inline_skip.load(Relaxed), 0, "a few evicted pages do not send the next reads to the workers");
        deferred_missed(fe);
        assert_eq!(fe.inline_skip.load(Relaxed), SKIP_AFTER_MISS, "a cold file skips the page cache");
        assert_eq!(fe.defer_misses.load(Relaxed), 0, "and counts again from there");
    }
}
