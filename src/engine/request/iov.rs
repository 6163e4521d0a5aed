//! What a request transfers, as the backends see it: one buffer (`aio_read`, `aio_write`), or an
//! iovec array (`aio_readv`, `aio_writev`: the array in `aio_buf`, its count in `aio_nbytes`).
//!
//! A transfer that stopped part-way (a stream write io_uring or a worker took in parts) continues
//! from [`Req::span`] with the bytes already done: the rest of the buffer, or the rest of the
//! array. The array is the caller's, read-only to us, so a rest that begins inside an entry is
//! described by that entry's remainder alone (the next attempt continues from there); a rest that
//! begins on an entry boundary is the tail of the caller's array as it is. Nothing is copied.
//!
//! The entries are read here only to find where a partial transfer stopped, that is after the
//! kernel has read the same array successfully; a bad array pointer is reported by the kernel
//! (EFAULT), never dereferenced by us first.

use core::marker::PhantomData;

use super::{Meta, Op, Req};

/// Linux caps one read or write at this many bytes; larger requests complete short, as with
/// `pread`.
pub(crate) const MAX_RW: usize = 0x7fff_f000;

/// The most entries an iovec array may have (`IOV_MAX` on Linux); more is EINVAL at submission.
pub(crate) const IOV_MAX: usize = 1024;

/// The part of a request still to transfer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Span {
    /// One buffer: address and length.
    Buf(*mut u8, usize),
    /// Entries of the caller's iovec array: the first and the count.
    Vec(*const libc::iovec, usize),
}

impl Span {
    /// The bytes the span covers (a vector's entry lengths summed, saturating).
    ///
    /// # Safety
    /// A vector's array is readable (the kernel just read it, say).
    pub(crate) unsafe fn len(&self) -> usize {
        match *self {
            Span::Buf(_, len) => len,
            // SAFETY: readable (caller); only read, here and now.
            Span::Vec(v, cnt) => unsafe { IoVecs::new(v, cnt) }.total(),
        }
    }
}

/// A request's iovec array: `aio_buf` as `struct iovec *`, `aio_nbytes` entries.
#[derive(Clone, Copy)]
pub(crate) struct IoVecs<'a> {
    ptr: *const libc::iovec,
    cnt: usize,
    _life: PhantomData<&'a libc::iovec>,
}

impl IoVecs<'_> {
    /// # Safety
    /// `ptr` points to `cnt` readable entries (or `cnt` is 0) that stay unmodified for `'a`.
    pub(crate) unsafe fn new<'a>(ptr: *const libc::iovec, cnt: usize) -> IoVecs<'a> {
        IoVecs { ptr, cnt, _life: PhantomData }
    }

    fn entry(&self, i: usize) -> libc::iovec {
        debug_assert!(i < self.cnt);
        // SAFETY: i < cnt, and the array's `cnt` entries are readable and unmodified for the view's
        // life (the contract of `new`); read by value, unaligned-safe.
        unsafe { self.ptr.add(i).read_unaligned() }
    }

    /// The sum of the entries' lengths (saturating).
    pub(crate) fn total(&self) -> usize {
        (0..self.cnt).fold(0usize, |s, i| s.saturating_add(self.entry(i).iov_len))
    }

    /// The entries' base addresses and lengths ORed together (their common alignment).
    pub(crate) fn align_bits(&self) -> u64 {
        (0..self.cnt).fold(0u64, |a, i| {
            let e = self.entry(i);
            a | e.iov_base as u64 | e.iov_len as u64
        })
    }

    /// What remains after the first `done` bytes; None if nothing does.
    pub(crate) fn after(&self, done: usize) -> Option<Span> {
        let mut skip = done;
        for i in 0..self.cnt {
            let e = self.entry(i);
            if skip < e.iov_len {
                return Some(if skip == 0 {
                    // SAFETY: i < cnt: still inside the caller's array.
                    Span::Vec(unsafe { self.ptr.add(i) }, self.cnt - i)
                } else {
                    // At most MAX_RW, as one transfer is: the SQE's length is 32 bits, and an
                    // entry of 4 GiB or more would otherwise be cut to its low bits there.
                    Span::Buf((e.iov_base as *mut u8).wrapping_add(skip), (e.iov_len - skip).min(MAX_RW))
                });
            }
            skip -= e.iov_len;
        }
        None
    }
}

impl Req<'_> {
    /// The length of a transfer of `op` (before the request is started: its meta is not set
    /// yet) and its buffer addresses and lengths ORed together (their common alignment).
    pub(crate) fn extent(&self, op: Op) -> (usize, u64) {
        if !op.is_vector() {
            return (self.nbytes(), self.buf() as u64 | self.nbytes() as u64);
        }
        // SAFETY: as `iov`: the intake checked that a vector's `aio_buf` is an array of
        // `aio_nbytes` (at most IOV_MAX) entries, kept unmodified while the request is in flight.
        let v = unsafe { IoVecs::new(self.buf() as *const libc::iovec, self.nbytes()) };
        (v.total(), v.align_bits())
    }

    /// The iovec array of a vectored request (`Op::Readv`, `Op::Writev`).
    pub(crate) fn iov(&self) -> IoVecs<'_> {
        debug_assert!(self.meta().op().is_vector());
        // SAFETY: for a vectored request the intake checked that `aio_buf` is an array of
        // `aio_nbytes` (at most IOV_MAX) entries, which the caller keeps unmodified while the
        // request is in flight (the contract of aio_readv/aio_writev).
        unsafe { IoVecs::new(self.buf() as *const libc::iovec, self.nbytes()) }
    }

    /// All of a data request of operation `op`, for a request not started yet, whose meta does
    /// not say its operation. The iovec array is not read (the pointer may be bad: the kernel
    /// reports that).
    pub(crate) fn whole(&self, op: Op) -> Span {
        if op.is_vector() {
            Span::Vec(self.buf() as *const libc::iovec, self.nbytes())
        } else {
            Span::Buf(self.buf(), self.nbytes())
        }
    }

    /// What is left to transfer after `done` bytes (`done` is 0 except when a stream transfer
    /// continues); None when nothing is. A plain request's length is capped at [`MAX_RW`].
    pub(crate) fn span(&self, done: usize) -> Option<Span> {
        let op = self.meta().op();
        if op.is_vector() {
            let v = self.iov();
            if done == 0 {
                return Some(Span::Vec(v.ptr, v.cnt));
            }
            return v.after(done);
        }
        let len = self.nbytes().min(MAX_RW);
        (done == 0 || done < len).then(|| Span::Buf(self.buf().wrapping_add(done), len - done))
    }

    /// The bytes a data request transfers in all (the iovec lengths summed for a vectored one),
    /// capped at [`MAX_RW`] as Linux caps one transfer.
    pub(crate) fn total_len(&self) -> usize {
        self.total_len_as(self.meta())
    }

    /// [`Req::total_len`], with the request's meta word `m` already read.
    #[inline(always)]
    pub(crate) fn total_len_as(&self, m: Meta) -> usize {
        if m.op().is_vector() {
            self.iov().total().min(MAX_RW)
        } else {
            self.nbytes().min(MAX_RW)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iov(b: &mut [u8], lens: &[usize]) -> Vec<libc::iovec> {
        let mut off = 0;
        lens.iter()
            .map(|&l| {
                let v = libc::iovec { iov_base: b[off..].as_mut_ptr().cast(), iov_len: l };
                off += l;
                v
            })
            .collect()
    }

    #[test]
    fn rest_of_an_array() {
        let mut b = [0u8; 64];
        let base = b.as_mut_ptr();
        let a = iov(&mut b, &[4, 0, 8, 16]);
        // SAFETY: `a` is live and unmodified for the test.
        let v = unsafe { IoVecs::new(a.as_ptr(), a.len()) };
        assert_eq!(v.total(), 28);
        assert_eq!(v.after(0), Some(Span::Vec(a.as_ptr(), 4)));
        // Inside the first entry: its remainder alone.
        assert_eq!(v.after(1), Some(Span::Buf(base.wrapping_add(1), 3)));
        // On a boundary: the tail of the array; the empty entry is skipped.
        assert_eq!(v.after(4), Some(Span::Vec(a[2..].as_ptr(), 2)));
        assert_eq!(v.after(12), Some(Span::Vec(a[3..].as_ptr(), 1)));
        assert_eq!(v.after(27), Some(Span::Buf(base.wrapping_add(27), 1)));
        assert_eq!(v.after(28), None);
        assert_eq!(v.after(1000), None);
        // SAFETY: an empty array is never read.
        let none = unsafe { IoVecs::new(core::ptr::null(), 0) };
        assert_eq!((none.total(), none.after(0)), (0, None));
    }

    /// A vector write to a socket that stopped inside an entry of 4 GiB or more continues with at
    /// most MAX_RW bytes of it (what fits the ring's 32-bit length and the progress word: a
    /// transfer's progress stays below its total, which is capped at MAX_RW < 2^31).
    #[test]
    fn rest_of_a_huge_entry_is_capped() {
        let big = 5usize << 30;
        // Addresses only: nothing here reads the memory an entry describes.
        let a = [
            libc::iovec { iov_base: 0x1000 as *mut _, iov_len: big },
            libc::iovec { iov_base: 0x2000 as *mut _, iov_len: 10 },
        ];
        // SAFETY: `a` is live and unmodified for the test.
        let v = unsafe { IoVecs::new(a.as_ptr(), a.len()) };
        assert_eq!(v.after(100_000), Some(Span::Buf((0x1000 + 100_000) as *mut u8, MAX_RW)));
        assert_eq!(v.after(big - 5), Some(Span::Buf((0x1000 + big - 5) as *mut u8, 5)));
        assert_eq!(v.total(), big + 10);
        const { assert!(MAX_RW < 1 << 31) };
    }
}
