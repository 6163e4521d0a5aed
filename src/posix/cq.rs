//! Completion queues (an aio-rs extension, after FreeBSD's `SIGEV_KEVENT`): a descriptor that a
//! program puts in its own `epoll`/`poll`/`select` set, readable while completions wait on it, and
//! FreeBSD's `aio_waitcomplete`. A request asks for a queue through its sigevent:
//! `sigev_notify = AIO_RS_SIGEV_QUEUE`, the queue's descriptor in `sigev_signo`, the program's
//! cookie in `sigev_value` (left in the aiocb). See `notify::cq` for the queue and `engine::cq`
//! for the harvest.

use core::ffi::c_int;

use super::{boundary, intake};
use crate::abi::Aiocb;
use crate::engine;
use crate::errno::Errno;
use crate::notify::cq::{self, Completed};

/// Creates a completion queue and returns its descriptor (close-on-exec), or -1 with errno:
/// EINVAL for `flags` other than 0, EMFILE/ENFILE/ENOMEM when descriptors or memory run out.
///
/// The descriptor is readable while completed requests of the queue wait to be harvested; when
/// the kernel completes one, it wakes a thread asleep in `epoll_wait` on it directly. Close it with
/// `aio_rs_cq_close` or `close`: requests still pointing at it complete as usual (their status in
/// `aio_error`), they are just not queued.
#[no_mangle]
pub extern "C" fn aio_rs_cq_create(flags: c_int) -> c_int {
    boundary(-1, || {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        engine::cq_create()
    })
}

/// Takes up to `n` completed requests of queue `cq` into `aiocbs`, each exactly once, and returns
/// how many. With a NULL `timeout` it waits until at least one is there; otherwise at most
/// `timeout`, and returns 0 if none came (a zero `timeout` never waits, and is async-signal-safe).
/// Each request's status is final when it is handed out: `aio_return` gives its result. -1 with
/// errno: EBADF (`cq` is not an open queue), EINVAL (`aiocbs` NULL, `n` < 1, a bad timeout),
/// EINTR (a signal handler ran while it waited and nothing had come).
///
/// # Safety
/// `aiocbs` has room for `n` pointers; `timeout` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn aio_rs_cq_harvest(
    cq: c_int,
    aiocbs: *mut *mut Aiocb,
    n: c_int,
    timeout: *const libc::timespec,
) -> c_int {
    boundary(-1, || {
        if aiocbs.is_null() || n < 1 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `timeout` is NULL or readable (our caller's contract).
        let timeout = unsafe { intake::timeout(timeout) }?;
        let q = cq::lookup_open(cq)?;
        let mut got = 0usize;
        let mut chunk = [Completed { aiocb: core::ptr::null_mut(), res: 0 }; 64];
        while got < n as usize {
            let want = (n as usize - got).min(chunk.len());
            // Only the first round waits; the rest take what is there.
            let t = if got == 0 { timeout } else { Some(core::time::Duration::ZERO) };
            let k = match engine::harvest(q, &mut chunk[..want], t) {
                Ok(k) => k,
                Err(_) if got > 0 => 0,
                Err(e) => return Err(e),
            };
            for (i, c) in chunk[..k].iter().enumerate() {
                // SAFETY: got + i < n: inside the caller's array of n pointers.
                unsafe { aiocbs.add(got + i).write(c.aiocb) };
            }
            got += k;
            if k < want {
                break;
            }
        }
        Ok(got as c_int)
    })
}

/// Closes queue `cq` and its descriptor: 0, or -1 with EBADF if `cq` is not an open queue.
/// Requests still pointing at it complete as usual; they are not queued.
#[no_mangle]
pub extern "C" fn aio_rs_cq_close(cq: c_int) -> c_int {
    boundary(-1, || cq::close(cq).map(|_| 0))
}

/// FreeBSD's `aio_waitcomplete`: waits for the next completed request of the process's own queue
/// (the requests submitted with `sigev_notify = AIO_RS_SIGEV_QUEUE` and `sigev_signo =
/// AIO_RS_WAITCOMPLETE_QUEUE`; no other request is tracked, so the others cost nothing), stores
/// its aiocb in `*iocbp` and returns its result as `aio_return` would (which it replaces): a
/// count, or -1 with errno the request's error. NULL `timeout`: waits as long as it takes; a zero
/// one polls. On failure `*iocbp` is NULL and errno is EINVAL (NULL `iocbp`, bad timeout), EAGAIN
/// (no such request outstanding), EINPROGRESS (the timeout passed) or EINTR.
///
/// # Safety
/// `iocbp` is NULL or writable; `timeout` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn aio_waitcomplete(iocbp: *mut *mut Aiocb, timeout: *mut libc::timespec) -> libc::ssize_t {
    boundary(-1, || {
        if iocbp.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: non-NULL and writable (our caller's contract).
        unsafe { iocbp.write(core::ptr::null_mut()) };
        // SAFETY: `timeout` is NULL or readable (our caller's contract).
        let timeout = unsafe { intake::timeout(timeout) }?;
        let c = engine::wait_complete(timeout)?;
        // SAFETY: as above.
        unsafe { iocbp.write(c.aiocb) };
        if c.res < 0 {
            return Err(Errno(-c.res as c_int));
        }
        Ok(c.res)
    })
}
