//! A queue's entries: one per request that asks for the queue, reserved at submission and handed
//! to the queue when the request completes (see the parent module). Entries are allocated in
//! chunks, never freed, and reused through the queue's `spare` stack.

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::Relaxed};

use super::Cq;
use crate::abi::Aiocb;
use crate::sys::Linked;

/// A completed request waiting to be harvested (or, before that, reserved for one in flight).
pub(crate) struct Node {
    pub(super) next: AtomicPtr<Node>,
    pub(super) cq: *const Cq,
    pub(super) gen: u32,
    pub(super) queue: u32,
    pub(super) aiocb: *mut Aiocb,
    pub(super) res: isize,
}

// SAFETY: `link` always returns `next`, which only the stack or list the node is in touches.
unsafe impl Linked for Node {
    unsafe fn link<'a>(node: *mut Node) -> &'a AtomicPtr<Node> {
        // SAFETY: the caller guarantees `node` is live for 'a.
        unsafe { &(*node).next }
    }
}

/// A FIFO of nodes, owned by whoever holds the lock around it.
pub(super) struct Fifo {
    head: *mut Node,
    tail: *mut Node,
}

// SAFETY: a Fifo is only touched under the lock that contains it; its nodes are never freed.
unsafe impl Send for Fifo {}

impl Fifo {
    pub(super) const fn new() -> Fifo {
        Fifo { head: ptr::null_mut(), tail: ptr::null_mut() }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// # Safety
    /// `n` is a live node in no stack or list.
    pub(super) unsafe fn push(&mut self, n: *mut Node) {
        // SAFETY: `n` and the tail are live nodes (never freed); the list is ours (lock).
        unsafe {
            (*n).next.store(ptr::null_mut(), Relaxed);
            if self.tail.is_null() {
                self.head = n;
            } else {
                (*self.tail).next.store(n, Relaxed);
            }
        }
        self.tail = n;
    }

    pub(super) fn pop(&mut self) -> Option<*mut Node> {
        let n = self.head;
        if n.is_null() {
            return None;
        }
        // SAFETY: `n` is a live member of the list, which is ours (lock).
        self.head = unsafe { (*n).next.load(Relaxed) };
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        Some(n)
    }
}

impl Cq {
    /// A node for a request, from the spare nodes or a new chunk.
    pub(super) fn alloc(&self) -> *mut Node {
        let mut pool = self.pool.lock();
        if pool.is_empty() {
            for n in self.spare.take_all() {
                // SAFETY: taken from the spare stack: live (never freed), ours, in no list.
                unsafe { pool.push(n) };
            }
        }
        if pool.is_empty() {
            const CHUNK: usize = 32;
            let chunk: Box<[Node]> = (0..CHUNK)
                .map(|_| Node {
                    next: AtomicPtr::new(ptr::null_mut()),
                    cq: ptr::null(),
                    gen: 0,
                    queue: 0,
                    aiocb: ptr::null_mut(),
                    res: 0,
                })
                .collect();
            let base = Box::leak(chunk).as_mut_ptr();
            for i in 0..CHUNK {
                // SAFETY: `base` points to CHUNK leaked (never freed) nodes in no list.
                unsafe { pool.push(base.add(i)) };
            }
        }
        pool.pop().expect("a chunk was just added")
    }
}
