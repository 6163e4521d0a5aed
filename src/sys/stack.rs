//! The one lock-free stack of the crate: intrusive, many producers, one consumer that takes
//! everything at once. It carries work into contexts that may not wait for a lock (a completion
//! reaped in a signal handler hands requests, descriptors to re-evaluate and lio groups to free to
//! a helper thread; `deliver` hands SIGEV_THREAD jobs to the notifier).
//!
//! # Why it is correct
//!
//! Producers (`push`, any thread, possibly a signal handler): read `head`, store it into the
//! node's link, then compare-and-swap `head` from that value to the node; on failure retry with
//! the value observed. The consumer (`take_all`, one thread at a time by contract) swaps `head`
//! with NULL, which takes the whole chain at once. There is no single-node pop.
//!
//! * **Nothing lost, nothing taken twice.** A push takes effect at its successful CAS, which
//!   succeeds only if `head` still equals the value just written into the node's link: at that
//!   instant the node is linked in front of exactly the chain `head` designated. A `take_all`
//!   takes effect at its swap. Every operation is a read-modify-write of `head`, so they are
//!   totally ordered, and each pushed node lands in exactly one taken chain.
//! * **No ABA.** The classic Treiber ABA needs a pop that reads `head.next` and then CASes `head`
//!   to it; if `head` went A -> B -> A meanwhile, that `next` is stale. Here nobody dereferences the
//!   current head before a CAS: a push writes only its *own* node's link, which nobody else can see
//!   yet, and the consumer uses an unconditional swap. If `head` goes A -> B -> A between a push's
//!   load and CAS (A taken, then pushed again), the CAS succeeds and links the node in front of A,
//!   which really is the head: correct.
//! * **Memory ordering.** A producer's writes to its node (the payload and the link) happen before
//!   its CAS, which has release semantics. Later pushes are read-modify-writes of `head` and so
//!   continue the release sequence of every earlier one; the consumer's swap (acquire) reads the
//!   last of them and therefore synchronises with every push whose node it receives: all their
//!   writes are visible to it. All operations on `head` are SeqCst (on x86-64 as cheap as
//!   release/acquire: a locked instruction either way, and a plain load for `is_empty`), so that
//!   users can put them in one total order with their own flags, as the notifier's no-lost-wake-up
//!   argument does.
//! * **Ownership.** A node belongs to its producer until the CAS, to the stack until a
//!   `take_all`, and to the consumer after it. The consumer reads a node's link *before* handing the
//!   node out (see [`Taken`]), because the node's owner may push it again, or free it, at once.
//! * **Signal handlers.** A push interrupted by a handler that pushes on the same thread only sees
//!   its CAS fail once and retries; no push ever waits for another (lock-free, async-signal-safe).
//!
//! The multi-producer test below checks the first point (every node once, each producer's nodes in
//! its order) under contention.

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::*};

/// A type whose values carry their own link for a [`Stack`].
///
/// # Safety
/// `link` must return the same field of `node` every time, and nothing but the stack the node is
/// in may touch that field while the node is in one.
pub(crate) unsafe trait Linked: Sized {
    /// The link field of `node`.
    ///
    /// # Safety
    /// `node` points to a live value, which stays live for `'a`.
    unsafe fn link<'a>(node: *mut Self) -> &'a AtomicPtr<Self>;
}

/// See the module documentation.
pub(crate) struct Stack<T: Linked> {
    head: AtomicPtr<T>,
}

// SAFETY: the stack only holds pointers and hands each node to exactly one consumer; whoever
// stores a node in it must make sure the node may be used from the consumer's thread.
unsafe impl<T: Linked> Sync for Stack<T> {}
// SAFETY: moving the stack moves only its head pointer; the nodes' ownership rules are Sync's.
unsafe impl<T: Linked> Send for Stack<T> {}

impl<T: Linked> Stack<T> {
    pub(crate) const fn new() -> Self {
        Stack { head: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Pushes `node`. Lock-free and async-signal-safe.
    ///
    /// # Safety
    /// `node` is live, owned by the caller, in no stack, and stays live until a consumer has taken
    /// it.
    pub(crate) unsafe fn push(&self, node: *mut T) {
        // SAFETY: the caller owns `node`, which is live; nobody else sees its link before the CAS.
        let link = unsafe { T::link(node) };
        let mut head = self.head.load(Relaxed);
        loop {
            link.store(head, Relaxed);
            match self.head.compare_exchange_weak(head, node, SeqCst, Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Takes every node, to be handed out oldest first. Only one thread may consume at a time.
    pub(crate) fn take_all(&self) -> Taken<T> {
        let mut cur = self.head.swap(ptr::null_mut(), SeqCst);
        // Reverse the chain (newest first) into push order; the nodes are ours now.
        let mut fifo: *mut T = ptr::null_mut();
        while !cur.is_null() {
            // SAFETY: nodes of a taken chain are live (push's contract) and owned by the consumer.
            let link = unsafe { T::link(cur) };
            let next = link.load(Relaxed);
            link.store(fifo, Relaxed);
            fifo = cur;
            cur = next;
        }
        Taken { next: fifo, _owns: PhantomData }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(SeqCst).is_null()
    }

    /// Forgets every node without touching it (a fork child dropping its parent's work).
    pub(crate) fn forget_all(&self) {
        self.head.store(ptr::null_mut(), SeqCst);
    }
}

/// Nodes taken by [`Stack::take_all`], oldest first. Each node's link is read before the node is
/// handed out, so the receiver may reuse, push again or free each node at once. Nodes not
/// iterated are simply not handed out: drain it.
pub(crate) struct Taken<T: Linked> {
    next: *mut T,
    _owns: PhantomData<*mut T>,
}

impl<T: Linked> Iterator for Taken<T> {
    type Item = *mut T;

    fn next(&mut self) -> Option<*mut T> {
        let node = self.next;
        if node.is_null() {
            return None;
        }
        // SAFETY: `node` is a live node of the taken chain, owned by the consumer until handed out
        // below; its link was last written by `take_all` on this thread.
        self.next = unsafe { T::link(node) }.load(Relaxed);
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Node {
        link: AtomicPtr<Node>,
        value: usize,
    }

    // SAFETY: `link` always returns the node's `link` field, which only the stack touches.
    unsafe impl Linked for Node {
        unsafe fn link<'a>(node: *mut Self) -> &'a AtomicPtr<Self> {
            // SAFETY: the caller guarantees `node` is live for 'a.
            unsafe { &(*node).link }
        }
    }

    /// Four producers push 10,000 nodes each while one consumer takes batches: every node comes
    /// out exactly once, and each producer's nodes come out in the order it pushed them.
    #[test]
    fn many_producers_one_consumer() {
        const P: usize = 4;
        const N: usize = 10_000;
        let nodes: Vec<usize> = (0..P * N)
            .map(|value| Box::into_raw(Box::new(Node { link: AtomicPtr::new(ptr::null_mut()), value })) as usize)
            .collect();
        let st = Arc::new(Stack::<Node>::new());
        let producers: Vec<_> = (0..P)
            .map(|p| {
                let st = st.clone();
                let mine: Vec<usize> = nodes[p * N..(p + 1) * N].to_vec();
                std::thread::spawn(move || {
                    for a in mine {
                        // SAFETY: each node is live (freed only after the test) and pushed once.
                        unsafe { st.push(a as *mut Node) };
                    }
                })
            })
            .collect();
        let mut seen = vec![false; P * N];
        let mut last = [None::<usize>; P];
        let mut got = 0;
        while got < P * N {
            for node in st.take_all() {
                // SAFETY: the node is live until freed below.
                let v = unsafe { (*node).value };
                assert!(!seen[v], "node {v} taken twice");
                seen[v] = true;
                let p = v / N;
                assert!(last[p].is_none_or(|l| v > l), "producer {p} out of order");
                last[p] = Some(v);
                got += 1;
            }
        }
        for t in producers {
            t.join().unwrap();
        }
        assert!(st.is_empty());
        for a in nodes {
            // SAFETY: made by Box::into_raw above and no longer in the stack.
            drop(unsafe { Box::from_raw(a as *mut Node) });
        }
    }
}
