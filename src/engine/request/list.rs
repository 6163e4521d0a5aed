//! Intrusive collections of requests, linked through the request's link field: a FIFO [`List`]
//! (owned by whoever holds the lock of the structure containing it) and a lock-free [`ReqStack`]
//! (the crate's `sys::Stack`).

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::Relaxed};

use super::ReqPtr;
use crate::abi::Aiocb;
use crate::sys::{Linked, Stack};

fn link_of<'a>(r: ReqPtr) -> &'a AtomicPtr<Aiocb> {
    // SAFETY: only called on members of a List or ReqStack, which are live while members (the
    // contract of `List::push_back` and `ReqStack::push`).
    unsafe { Aiocb::link(r.as_ptr()) }
}

/// An intrusive FIFO of requests linked through their link field. Owned by whoever holds the lock
/// of the structure that contains it.
pub(crate) struct List {
    head: *mut Aiocb,
    tail: *mut Aiocb,
    len: usize,
}

// SAFETY: a List is only touched by the owner of the structure that contains it (under its lock);
// it holds addresses of requests that are live while they are members.
unsafe impl Send for List {}

impl List {
    pub(crate) const fn new() -> Self {
        List { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    pub(crate) fn front(&self) -> Option<ReqPtr> {
        ReqPtr::new(self.head)
    }

    /// # Safety
    /// `r` is live and in no list or stack; it stays live while it is a member.
    pub(crate) unsafe fn push_back(&mut self, r: ReqPtr) {
        link_of(r).store(ptr::null_mut(), Relaxed);
        match ReqPtr::new(self.tail) {
            None => self.head = r.as_ptr(),
            Some(t) => link_of(t).store(r.as_ptr(), Relaxed),
        }
        self.tail = r.as_ptr();
        self.len += 1;
    }

    /// # Safety
    /// As [`List::push_back`].
    pub(crate) unsafe fn push_front(&mut self, r: ReqPtr) {
        link_of(r).store(self.head, Relaxed);
        if self.head.is_null() {
            self.tail = r.as_ptr();
        }
        self.head = r.as_ptr();
        self.len += 1;
    }

    pub(crate) fn pop_front(&mut self) -> Option<ReqPtr> {
        let h = self.front()?;
        self.head = link_of(h).load(Relaxed);
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        Some(h)
    }

    /// Removes `r` if it is a member; O(n).
    pub(crate) fn remove(&mut self, r: ReqPtr) -> bool {
        let mut prev: *mut Aiocb = ptr::null_mut();
        let mut cur = self.head;
        while let Some(c) = ReqPtr::new(cur) {
            let next = link_of(c).load(Relaxed);
            if c == r {
                match ReqPtr::new(prev) {
                    None => self.head = next,
                    Some(p) => link_of(p).store(next, Relaxed),
                }
                if self.tail == cur {
                    self.tail = prev;
                }
                self.len -= 1;
                return true;
            }
            prev = cur;
            cur = next;
        }
        false
    }

    /// Removes and returns every member for which `pick` is true, in order.
    pub(crate) fn drain_filter(&mut self, mut pick: impl FnMut(ReqPtr) -> bool) -> List {
        let mut kept = List::new();
        let mut out = List::new();
        while let Some(r) = self.pop_front() {
            // SAFETY: r was just unlinked from this list and is in no other; still live.
            unsafe {
                if pick(r) {
                    out.push_back(r)
                } else {
                    kept.push_back(r)
                }
            }
        }
        *self = kept;
        out
    }

    /// Moves every member of `other` to the end of this list.
    pub(crate) fn append(&mut self, mut other: List) {
        while let Some(r) = other.pop_front() {
            // SAFETY: r was just unlinked from `other`; still live.
            unsafe { self.push_back(r) };
        }
    }
}

/// Requests handed to a helper thread from a context that may not wait for a lock: the crate's
/// lock-free stack (`sys::Stack`, where its correctness is argued) over the requests' link.
pub(crate) struct ReqStack(Stack<Aiocb>);

impl ReqStack {
    pub(crate) const fn new() -> Self {
        ReqStack(Stack::new())
    }

    /// Async-signal-safe.
    ///
    /// # Safety
    /// `r` is live, owned by the caller and in no list; it stays live until taken.
    pub(crate) unsafe fn push(&self, r: ReqPtr) {
        // SAFETY: the caller owns `r`, live and in no list or stack, and keeps it live until taken:
        // the stack's push contract.
        unsafe { self.0.push(r.as_ptr()) };
    }

    /// Takes everything, oldest first, into a list.
    pub(crate) fn take_all(&self) -> List {
        let mut out = List::new();
        for p in self.0.take_all() {
            if let Some(r) = ReqPtr::new(p) {
                // SAFETY: a taken request is live (push's contract) and now ours, in no list.
                unsafe { out.push_back(r) };
            }
        }
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
