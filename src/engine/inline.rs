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
//! descriptor whose cached class says a seekable file that is not O_DIRECT. The attempt comes
//! before the class is checked (`submit::accept` checks it only for a request that goes on to an
//! engine), so the class can be stale: the number may have been closed and reused. A `RWF_NOWAIT`
//! read of an O_DIRECT file still waits for the device, so the open flags are read again
//! (`fcntl(F_GETFL)`, one system call: the only question asked) right before the attempt; they also
//! see an O_DIRECT set by `F_SETFL`, which the class would not. What else the class got wrong
//! costs nothing: a pipe, socket, tty or anonymous inode answers ESPIPE (or EINVAL) to a read at
//! an offset, a directory EISDIR, a file that cannot read without waiting EOPNOTSUPP, and the
//! request then takes its usual path, class checked; a read that succeeds was a positional read
//! without waiting of whatever file the number names now, which is what the caller asked for.
//! So a hit costs two system calls.
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
pub(crate) const SKIP_AFTER_MISS: u32 = 16;

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
pub(crate) fn try_read(fe: &FdEntry, fd: i32, op: Op, req: &Req<'_>) -> Option<isize> {
    if fe.inline_skip.load(Relaxed) != 0 {
        // Racy on purpose: concurrent readers may skip one more or one fewer.
        fe.inline_skip.fetch_sub(1, Relaxed);
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
}
