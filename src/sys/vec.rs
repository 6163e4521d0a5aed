//! Vectored transfers and transfers at the file position, for the worker threads: `preadv2` and
//! `pwritev2` as raw system calls (glibc's wrappers are cancellation points; `syscall` is not).
//! Results follow the kernel's convention: a byte count, or `-errno`.

use core::ffi::c_int;

/// `preadv2`/`pwritev2(fd, iov, cnt, off, flags)`: `off` -1 transfers at the file position and
/// advances it (on a stream the position plays no part); `nowait` adds `RWF_NOWAIT`.
///
/// # Safety
/// `iov` points to `cnt` readable entries (or `cnt` is 0), each describing memory valid for the
/// call (writable for a read).
pub(crate) unsafe fn transfer_vec(
    fd: c_int,
    write: bool,
    iov: *const libc::iovec,
    cnt: usize,
    off: i64,
    nowait: bool,
) -> isize {
    let nr = if write { libc::SYS_pwritev2 } else { libc::SYS_preadv2 };
    let flags = if nowait { libc::RWF_NOWAIT } else { 0 };
    // x86_64: the whole offset travels in the low word; the high word is ignored (0).
    // SAFETY: the kernel reads `cnt` iovecs at `iov` and transfers into or out of the memory they
    // describe, all valid for the call (caller).
    unsafe { raw(nr, [fd as usize, iov as usize, cnt, off as usize, 0, flags as usize]) }
}

/// System call `nr` with six arguments, made with the `syscall` instruction itself: the kernel's
/// answer (a value, or `-errno`), and `errno` left alone. This is what `libc::syscall` does
/// (raw, never a cancellation point) without its argument shuffle and its `errno` round trip,
/// for the calls made on the caller's thread for every page-cache hit (`preadv2`, `F_GETFL`).
/// The kernel ignores the arguments a call does not take.
///
/// # Safety
/// The call, with these arguments, is sound: every pointer it passes is valid as the call needs.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn raw(nr: libc::c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention: number in rax, arguments in rdi, rsi, rdx,
    // r10, r8, r9, result in rax; the kernel clobbers rcx and r11 and nothing else, and touches no
    // user stack. What the call itself does is the caller's contract.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// [`raw`] through `libc::syscall` elsewhere.
///
/// # Safety
/// As on x86_64.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(super) unsafe fn raw(nr: libc::c_long, a: [usize; 6]) -> isize {
    // SAFETY: the caller's contract.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        -(crate::errno::Errno::last().0 as isize)
    } else {
        r as isize
    }
}

/// The same for one buffer.
///
/// # Safety
/// `buf` is valid for `len` bytes (writable for a read) for the call.
#[inline(always)]
pub(crate) unsafe fn transfer_one(fd: c_int, write: bool, buf: *mut u8, len: usize, off: i64, nowait: bool) -> isize {
    let iov = libc::iovec { iov_base: buf.cast(), iov_len: len };
    // SAFETY: one entry describing the caller's buffer (see above).
    unsafe { transfer_vec(fd, write, &iov, 1, off, nowait) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_and_the_file_position() {
        let mut fds = [0 as c_int; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (a, b) = (*b"abc", *b"defgh");
        let out = [
            libc::iovec { iov_base: a.as_ptr() as *mut _, iov_len: 3 },
            libc::iovec { iov_base: b.as_ptr() as *mut _, iov_len: 5 },
        ];
        // SAFETY: the two entries describe live arrays.
        assert_eq!(unsafe { transfer_vec(fds[1], true, out.as_ptr(), 2, -1, false) }, 8);
        let (mut x, mut y) = ([0u8; 2], [0u8; 6]);
        let inn = [
            libc::iovec { iov_base: x.as_mut_ptr().cast(), iov_len: 2 },
            libc::iovec { iov_base: y.as_mut_ptr().cast(), iov_len: 6 },
        ];
        // SAFETY: the two entries describe live, writable arrays.
        assert_eq!(unsafe { transfer_vec(fds[0], false, inn.as_ptr(), 2, -1, true) }, 8);
        assert_eq!((&x, &y), (b"ab", b"cdefgh"));
        // Empty pipe, RWF_NOWAIT: EAGAIN without waiting.
        // SAFETY: as above.
        assert_eq!(unsafe { transfer_one(fds[0], false, x.as_mut_ptr(), 2, -1, true) }, -(libc::EAGAIN as isize));
        // SAFETY: closes the two descriptors made above.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}
