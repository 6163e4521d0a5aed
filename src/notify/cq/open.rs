//! Opening a queue object with new descriptors (`aio_rs_cq_create`, the aio_waitcomplete queue's
//! first use): made and recorded inside one section of the fork gate (see the parent module, and
//! `sys::gate`), so a fork child always finds them where `after_fork_child` looks.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use super::{Cq, QueueRef, OPEN, TAG_EFD};
use crate::errno::Errno;
use crate::sys;

/// Opens the descriptors of a queue: (the program's epoll descriptor or -1, the library's
/// duplicate of it, the library's eventfd inside it).
fn open_fds(internal: bool) -> Result<(c_int, c_int, c_int), Errno> {
    let ep = sys::epoll_new()?;
    let mine = match sys::dup_high(ep) {
        Ok(d) => d,
        Err(e) => {
            sys::close_raw(ep);
            return Err(e);
        }
    };
    let undo = |fds: &[c_int]| fds.iter().for_each(|&f| sys::close_raw(f));
    let efd = match sys::eventfd_new().and_then(|e| {
        let high = sys::dup_high(e);
        sys::close_raw(e);
        high
    }) {
        Ok(e) => e,
        Err(e) => {
            undo(&[ep, mine]);
            return Err(e);
        }
    };
    let r = sys::mark(ep)
        .and_then(|_| sys::mark(efd))
        .and_then(|_| sys::epoll_add(mine, efd, libc::EPOLLIN as u32, TAG_EFD));
    if let Err(e) = r {
        undo(&[ep, mine, efd]);
        return Err(e);
    }
    if internal {
        sys::close_raw(ep);
        return Ok((-1, mine, efd));
    }
    Ok((ep, mine, efd))
}

impl Cq {
    /// Makes this (closed, unused) object's descriptors and reopens it with them, as a new
    /// generation. From the `epoll_create1` to the numbers recorded (`fds_live`, which a fork
    /// child's `after_fork_child` goes by) is one section of the fork gate; the object's lists are
    /// emptied before it (a section takes no lock).
    pub(super) fn open(&'static self) -> Result<QueueRef, Errno> {
        self.clear();
        let _section = sys::fd_section();
        Ok(self.reopen(open_fds(self.internal)?))
    }

    /// Forgets what an earlier generation left in this (closed, unused) object.
    fn clear(&self) {
        // Entries left from an earlier generation are never handed out.
        for n in self.done.take_all() {
            // SAFETY: live, ours now, in no list.
            unsafe { self.spare.push(n) };
        }
        {
            let mut r = self.ready.lock();
            while let Some(n) = r.pop() {
                // SAFETY: live, ours now, in no list.
                unsafe { self.spare.push(n) };
            }
        }
    }

    /// Reopens this (closed, unused, cleared) object with new descriptors, as a new generation.
    /// Atomic stores only (inside `open`'s section).
    fn reopen(&'static self, (user, ep, efd): (c_int, c_int, c_int)) -> QueueRef {
        for k in 0..2 {
            self.attached[k].store(0, Relaxed);
            self.reattach[k].store(0, Relaxed);
            for r in &self.registered[k] {
                r.store(0, Relaxed);
            }
        }
        self.wanted.store(0, Relaxed);
        self.outstanding.store(0, Relaxed);
        self.last_harvest.store(0, Relaxed);
        self.streams.store(0, Relaxed);
        sys::claim(ep, self.owner);
        sys::claim(efd, self.owner);
        self.user.store(user, Relaxed);
        self.ep.store(ep, Relaxed);
        self.efd.store(efd, Relaxed);
        self.fds_live.store(1, Relaxed);
        let gen = self.gen.fetch_add(1, AcqRel).wrapping_add(1);
        self.state.store(OPEN, Release);
        QueueRef { cq: self, gen }
    }

    pub(super) fn reusable(&self) -> bool {
        !self.internal && self.state.load(Acquire) == 0 && self.fds_live.load(Acquire) == 0
    }
}
