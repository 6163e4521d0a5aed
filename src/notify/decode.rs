//! Decoding and validation of `struct sigevent`: what a request or a list asks to be told.

use core::ffi::c_int;
use core::fmt;
use core::ptr;

use super::cq::{self, QueueRef};
use crate::abi::{SigEvent, SigVal, SigevThread, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID};
use crate::errno::Errno;
use crate::ext::AIO_RS_SIGEV_QUEUE;
use crate::sys;

/// A validated, copied notification request.
#[derive(Clone, Copy)]
pub(crate) enum Notify {
    None,
    Signal {
        signo: c_int,
        value: SigVal,
    },
    Thread {
        function: unsafe extern "C" fn(SigVal),
        value: SigVal,
        attr: *mut libc::pthread_attr_t,
    },
    ThreadId {
        signo: c_int,
        value: SigVal,
        tid: libc::pid_t,
    },
    /// `AIO_RS_SIGEV_QUEUE`: the request goes on a completion queue (`super::cq`) when done;
    /// `value` is the program's cookie (it stays in the aiocb; the queue does not need it).
    Queue {
        q: QueueRef,
        value: SigVal,
    },
}

// SAFETY: a Notify is plain data (a function pointer, an opaque sigval, an attribute pointer the
// application promised to keep valid); this module never dereferences `value`, and `attr` is only
// handed to pthread_create, which may be called from any thread.
unsafe impl Send for Notify {}
// SAFETY: a shared `&Notify` only allows copying its plain values (a function pointer, an opaque
// sigval, an attribute pointer only ever handed to pthread_create).
unsafe impl Sync for Notify {}

impl Notify {
    /// Validates and copies. NULL pointer -> `Notify::None` (lio_listio allows a NULL list sigevent).
    ///
    /// Unknown `sigev_notify` -> EINVAL; `SIGEV_SIGNAL`/`SIGEV_THREAD_ID` with a signal number outside
    /// `1..=SIGRTMAX` -> EINVAL; `SIGEV_THREAD` with a NULL function -> EINVAL; `SIGEV_THREAD_ID` with
    /// `tid <= 0` or a tid that is not a thread of this process -> EINVAL; `AIO_RS_SIGEV_QUEUE` whose
    /// `sigev_signo` is not an open completion queue (nor `AIO_RS_WAITCOMPLETE_QUEUE`) -> EBADF.
    ///
    /// # Safety
    /// `sev` is NULL or points to a readable `SigEvent` (alignment not required).
    #[inline(never)]
    pub(crate) unsafe fn from_sigevent(sev: *const SigEvent) -> Result<Notify, Errno> {
        if sev.is_null() {
            return Ok(Notify::None);
        }
        // SAFETY: the caller guarantees `sev` points to a readable SigEvent; SigEvent is Copy
        // plain data and read_unaligned has no alignment requirement.
        let sev = unsafe { ptr::read_unaligned(sev) };
        let value = sev.sigev_value;
        match sev.sigev_notify {
            SIGEV_NONE => Ok(Notify::None),
            SIGEV_SIGNAL => {
                check_signo(sev.sigev_signo)?;
                Ok(Notify::Signal { signo: sev.sigev_signo, value })
            }
            SIGEV_THREAD => {
                // SAFETY: every bit pattern is a valid SigevThread: `function` is an
                // Option<fn> (NULL is None, any other value a fn pointer we never call unless
                // the application asked for it) and `attribute` is a raw pointer.
                let thread = unsafe { sev.un.thread };
                match thread.function {
                    Some(function) => Ok(Notify::Thread { function, value, attr: thread.attribute }),
                    None => Err(Errno(libc::EINVAL)),
                }
            }
            SIGEV_THREAD_ID => {
                check_signo(sev.sigev_signo)?;
                // SAFETY: the union's first 4 bytes read as a pid_t; every bit pattern is valid.
                let tid = unsafe { sev.un.tid };
                if tid <= 0 || !sys::thread_in_process(tid) {
                    return Err(Errno(libc::EINVAL));
                }
                Ok(Notify::ThreadId { signo: sev.sigev_signo, value, tid })
            }
            AIO_RS_SIGEV_QUEUE => Ok(Notify::Queue { q: cq::lookup(sev.sigev_signo)?, value }),
            _ => Err(Errno(libc::EINVAL)),
        }
    }

    /// Reads an application's sigevent: [`Notify::from_sigevent`], except that `SIGEV_SIGNAL` with
    /// signal 0 means "no signal": an aiocb cleared with `memset` asks for exactly that (sending
    /// signal 0 does nothing), so it must be accepted.
    ///
    /// # Safety
    /// `sev` is NULL or points to a readable `SigEvent` (alignment not required).
    #[inline(always)]
    pub(crate) unsafe fn from_user(sev: *const SigEvent) -> Result<Notify, Errno> {
        if !sev.is_null() {
            // The two words that settle the common cases, read alone (not the whole structure).
            // SAFETY: non-NULL and readable (caller); read_unaligned needs no alignment, and both
            // fields are inside the structure.
            let (notify, signo) = unsafe {
                (
                    ptr::read_unaligned(ptr::addr_of!((*sev).sigev_notify)),
                    ptr::read_unaligned(ptr::addr_of!((*sev).sigev_signo)),
                )
            };
            if notify == SIGEV_NONE || (notify == SIGEV_SIGNAL && signo == 0) {
                return Ok(Notify::None);
            }
        }
        // SAFETY: `sev` is NULL or points to a readable SigEvent: our own contract, which is
        // from_sigevent's.
        unsafe { Notify::from_sigevent(sev) }
    }

    /// Reads a sigevent that [`Notify::from_user`] accepted earlier, without checking it again
    /// (at completion: the request's own sigevent, unchanged while it was in flight). A queue
    /// notification reads as `None`: it is delivered through the entry the request holds
    /// (`cq::complete`), not through the sigevent.
    pub(crate) fn validated(sev: &SigEvent) -> Notify {
        match sev.sigev_notify {
            SIGEV_SIGNAL if sev.sigev_signo != 0 => Notify::Signal { signo: sev.sigev_signo, value: sev.sigev_value },
            SIGEV_THREAD_ID => Notify::ThreadId {
                signo: sev.sigev_signo,
                value: sev.sigev_value,
                // SAFETY: every bit pattern of the union's first 4 bytes is a valid pid_t.
                tid: unsafe { sev.un.tid },
            },
            // SAFETY: every bit pattern is a valid SigevThread (see `from_sigevent`).
            SIGEV_THREAD => match unsafe { sev.un.thread } {
                SigevThread { function: Some(function), attribute } => {
                    Notify::Thread { function, value: sev.sigev_value, attr: attribute }
                }
                // Validated at submission: never NULL here.
                SigevThread { function: None, .. } => Notify::None,
            },
            _ => Notify::None,
        }
    }

    /// True for `Notify::None`.
    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Notify::None)
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY (for the three reads below): a SigVal is 8 bytes of plain data; reading it as a
        // pointer is valid for every bit pattern.
        match *self {
            Notify::None => f.write_str("Notify::None"),
            Notify::Signal { signo, value } => {
                // SAFETY: a SigVal is 8 bytes of plain data: any bits read as a pointer.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::Signal {{ signo: {signo}, value: {v:p} }}")
            }
            Notify::Thread { function, value, attr } => {
                // SAFETY: a SigVal is 8 bytes of plain data: any bits read as a pointer.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::Thread {{ function: {:p}, value: {v:p}, attr: {attr:p} }}", function as *const ())
            }
            Notify::ThreadId { signo, value, tid } => {
                // SAFETY: a SigVal is 8 bytes of plain data: any bits read as a pointer.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::ThreadId {{ signo: {signo}, value: {v:p}, tid: {tid} }}")
            }
            Notify::Queue { q, value } => {
                // SAFETY: a SigVal is 8 bytes of plain data: any bits read as a pointer.
                let v = unsafe { value.sival_ptr };
                write!(f, "Notify::Queue {{ q: {q:?}, value: {v:p} }}")
            }
        }
    }
}

fn check_signo(signo: c_int) -> Result<(), Errno> {
    if signo < 1 || signo > sys::sigrtmax() {
        Err(Errno(libc::EINVAL))
    } else {
        Ok(())
    }
}
