//! What the deferred reads add to a number's shared duplicate (`engine::deferred`): a batch's
//! later reads take their part of the hold its first read took without a check
//! ([`FdEntry::add_users`]), the hits give theirs up together ([`FdTable::release_holds`]), and the
//! class is learnt from the held duplicate ([`FdEntry::see_held`]). The lock-free protocol of the
//! shared word is the one described at `FdEntry::shared`: every change is one compare-and-swap of
//! the whole word; a count is only added to a word that has users (so its duplicate cannot be let
//! go or replaced meanwhile) and only taken from one the caller holds a part of.

use core::ffi::c_int;
use core::sync::atomic::Ordering::*;

use super::{class_of, kind, FdEntry, FdTable};
use crate::sys::{self, FileId, Held};

/// Room made in the list of kept duplicates, so that a release in a context that may not allocate
/// can list one ([`FdTable::release_holds`]).
pub(super) const KEPT_ROOM: usize = 64;

impl FdEntry {
    /// Whether `h` is this number's shared duplicate, with users (a hold made by
    /// [`FdEntry::hold`] is either that or a private one).
    pub(crate) fn is_shared(&self, h: Held) -> bool {
        let cur = self.shared.load(Acquire);
        (cur >> 32) as u32 == h.to_word() && cur as u32 != 0
    }

    /// Adds `n` users to the shared duplicate `h`, without a check: the caller holds one of its
    /// users, so it is still ours and of the same file (the users' file, see the field). False
    /// if `h` is not the shared duplicate with users.
    pub(crate) fn add_users(&self, h: Held, n: u32) -> bool {
        let mut cur = self.shared.load(Acquire);
        loop {
            if (cur >> 32) as u32 != h.to_word() || cur as u32 == 0 {
                return false;
            }
            match self.shared.compare_exchange_weak(cur, cur + n as u64, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Records the class of the file a hold of this number just found (`id` and open flags
    /// `flags`, of the held duplicate: `sys::held_file`), as [`FdEntry::classify`] records what it
    /// reads. Returns the class and whether its ordering bits changed under requests in flight
    /// (the caller must then drain, see `classify`).
    pub(crate) fn see_held(&self, id: FileId, flags: c_int) -> (u32, bool) {
        let cached = self.info.load(Relaxed);
        let fresh = class_of(id.format, flags);
        if self.ident.load(Relaxed) != id.ident {
            // Another file: its size is not known (an O_DIRECT write past 0 asks, see
            // `direct_write_may_block`).
            self.see_size(id);
            self.ident.store(id.ident, Relaxed);
        }
        self.info.store(fresh, Relaxed);
        self.fresh.store(1, Relaxed);
        let order_bits = kind::STREAM | kind::APPEND;
        (fresh, self.order.busy_hint() && cached & kind::VALID != 0 && (fresh & order_bits) != (cached & order_bits))
    }
}

impl FdTable {
    /// Gives up `n` holds of `h` made through entry `fe` (deferred reads the page cache served,
    /// `complete::reap_deferred`), keeping the last one for the next batch on the number as a
    /// worker does ([`FdTable::release_hold`]). Async-signal-safe without `blocking`: the list of
    /// kept entries is then only tried, and only its spare room used (it is made with room for
    /// [`KEPT_ROOM`]); where that fails, the duplicate is not kept.
    pub(crate) fn release_holds(&self, fe: &FdEntry, h: Held, n: u32, blocking: bool) {
        if n != 0 && fe.release_hold_with(h, n, true, sys::release) {
            self.list_kept(fe, blocking);
        }
    }

    /// Lists entry `fe`, whose shared duplicate was just kept for its next user, for
    /// [`FdTable::let_go_kept`], unless it is listed already. Without `blocking`
    /// (async-signal-safe), the list is only tried and only its spare room used (it is made with
    /// room for [`KEPT_ROOM`]); where that fails the duplicate is let go at once.
    pub(super) fn list_kept(&self, fe: &FdEntry, blocking: bool) {
        // The kept word is stored before the flag is looked at, and `let_go_kept` clears the
        // flag before it looks at the word (all SeqCst): a keep that finds the entry listed is
        // seen by the one who takes it off the list.
        if fe.kept_listed.swap(1, SeqCst) != 0 {
            return;
        }
        let listed = if blocking { Some(self.kept.lock()) } else { self.kept.try_lock() }
            .and_then(|mut g| (blocking || g.len() < g.capacity()).then(|| g.push(fe as *const FdEntry as usize)));
        if listed.is_none() {
            // Not listed, so nobody would let go of it: let go now (as `let_go_kept` does).
            fe.kept_listed.store(0, SeqCst);
            fe.let_go();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys;
    use core::sync::atomic::Ordering::SeqCst;
    use std::os::fd::AsRawFd;

    /// A batch's later reads take their part of the first one's hold without a check; the hits
    /// give theirs up together, the last part keeps the duplicate for the next batch, listed even
    /// where nothing may be allocated (the list's spare room), until let go.
    #[test]
    fn later_reads_share_the_hold_and_give_it_up_together() {
        let path = std::env::temp_dir().join(format!("aio-rs-holds-{}", std::process::id()));
        let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let fd = f.as_raw_fd();
        let t = FdTable::new();
        let e = t.entry(fd).unwrap();
        let h = e.hold(fd).unwrap();
        assert!(e.is_shared(h));
        assert!(e.add_users(h, 3));
        assert_eq!(e.shared.load(SeqCst) as u32, 4);
        let (id, _) = sys::held_file(h).unwrap();
        assert_eq!(id.ident, sys::file_id(fd).unwrap().ident);
        t.release_holds(e, h, 3, false);
        assert!(e.is_shared(h), "one part left");
        t.release_holds(e, h, 1, false);
        assert!(!e.is_shared(h) && sys::held_ok(h), "kept for the next batch");
        assert!(!e.add_users(h, 1), "no part may be added to a kept one without a check");
        assert_eq!(e.kept_listed.load(SeqCst), 1, "listed without allocating");
        t.let_go_kept();
        assert!(!sys::held_ok(h) && e.shared.load(SeqCst) == 0, "let go");
    }
}
