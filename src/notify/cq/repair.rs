//! Making a queue's own descriptors again after the program closed them (`closefrom`,
//! `close_range` or a `dup2` over the library's numbers) while it keeps the queue (see the parent
//! module, and `sys::fd` for the rule every descriptor of the library's follows).

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use super::{Cq, TAG_EFD};
use crate::errno::Errno;
use crate::sys;

impl Cq {
    /// Makes again the library's descriptors of this queue that the program closed (`closefrom`,
    /// `close_range`, or a `dup2` over them), as issue 9's rule for every descriptor of ours:
    /// found lost by a check before use, made again by a program thread inside an AIO call (a
    /// submission for this queue or a harvest of it), high and tagged. The caller is a user.
    /// `blocking` false (a harvest that may run in a signal handler): a busy `attach` lock is left
    /// to its holder. False if a descriptor could not be had (EMFILE), or the program's own number
    /// no longer names the queue (it is closed then, by whoever notices).
    ///
    /// * The library's duplicate of a program's queue (`ep`) is made again from the program's
    ///   number: the epoll instance itself lives on in the program's hands, with the kernel sources
    ///   in it. The aio_waitcomplete queue's epoll instance had only our number and went with it:
    ///   a new one is made, and the sources that were in the old one are marked for a harvest to
    ///   add again (`reattach`).
    /// * A lost eventfd left the epoll instance with its file; a new one is made and added.
    ///
    /// The new eventfd is then signalled: a completion may have signalled the lost one, and the
    /// harvest it wakes finds out (at worst nothing: one empty harvest).
    #[cold]
    #[inline(never)]
    pub(super) fn repair(&self, blocking: bool) -> bool {
        let g = if blocking { Some(self.attach.lock()) } else { self.attach.try_lock() };
        let Some(_g) = g else { return false };
        self.wanted.store(0, Release);
        // From each new descriptor to its number recorded (`claim`, then `ep`/`efd`, which a
        // fork child's `after_fork_child` closes), a fork would leave it to the child unrecorded:
        // one section of the fork gate (system calls and stores only; `attach` is held outside).
        let section = sys::fd_section();
        let ok = self.remake();
        drop(section);
        if !ok {
            self.wanted.store(1, Release);
        }
        self.signal_now();
        ok
    }

    /// `repair`'s work, under the `attach` lock.
    fn remake(&self) -> bool {
        let mut rebuilt = false;
        if !self.ours(self.ep.load(Relaxed)) {
            let ep = if self.internal {
                let Ok(e) = sys::epoll_new() else { return false };
                let high = sys::dup_high(e);
                sys::close_raw(e);
                let Ok(h) = high else { return false };
                if sys::mark(h).is_err() {
                    sys::close_raw(h);
                    return false;
                }
                rebuilt = true;
                h
            } else {
                let user = self.user.load(Relaxed);
                // Only a number that still names the queue (tagged) is duplicated.
                if !sys::marked(user) {
                    return false;
                }
                match sys::dup_high(user) {
                    Ok(h) => h,
                    Err(_) => return false,
                }
            };
            // The old number is not closed: it is not ours any more.
            sys::claim(ep, self.owner);
            self.ep.store(ep, Release);
        }
        if rebuilt {
            for k in 0..2 {
                let was = self.attached[k].swap(0, AcqRel);
                self.reattach[k].fetch_or(was, AcqRel);
                for r in &self.registered[k] {
                    r.store(0, Release);
                }
            }
        }
        let ep = self.ep.load(Relaxed);
        let efd = self.efd.load(Relaxed);
        if self.ours(efd) {
            // Ours, and in the epoll instance unless that was made just now.
            return !rebuilt
                || matches!(sys::epoll_add(ep, efd, libc::EPOLLIN as u32, TAG_EFD), Ok(()) | Err(Errno(libc::EEXIST)));
        }
        let Ok(e) = sys::eventfd_new() else { return false };
        let high = sys::dup_high(e);
        sys::close_raw(e);
        let Ok(efd) = high else { return false };
        if sys::mark(efd).and_then(|_| sys::epoll_add(ep, efd, libc::EPOLLIN as u32, TAG_EFD)).is_err() {
            sys::close_raw(efd);
            return false;
        }
        sys::claim(efd, self.owner);
        self.efd.store(efd, Release);
        true
    }

    /// Whether `fd` is still one of this queue's own descriptors: marked, and last claimed by it.
    pub(super) fn ours(&self, fd: c_int) -> bool {
        sys::claimed_by(fd, self.owner) && sys::marked(fd)
    }
}
