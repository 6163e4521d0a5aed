//! Byte-exact mirrors of glibc's x86_64 `<aio.h>` and `<signal.h>` structures.
//!
//! Every offset is asserted at compile time below, and again against the system header by
//! `c-tests/abi_layout.c`. Private per-request state lives only in the fields glibc reserves
//! for its own implementation (`__next_prio`, `__abs_prio`, `__policy`, `__glibc_reserved`).

use core::ffi::{c_int, c_void};
use core::mem::{offset_of, size_of};

/// `union sigval`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union SigVal {
    pub sival_int: c_int,
    pub sival_ptr: *mut c_void,
}

/// The `_sigev_thread` member of glibc's `struct sigevent` union.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SigevThread {
    pub function: Option<unsafe extern "C" fn(SigVal)>,
    pub attribute: *mut libc::pthread_attr_t,
}

/// The anonymous union at offset 16 of glibc's `struct sigevent` (48 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub union SigevUn {
    pub pad: [c_int; 12],
    pub tid: libc::pid_t,
    pub thread: SigevThread,
}

/// glibc's `struct sigevent` (64 bytes on x86_64).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SigEvent {
    pub sigev_value: SigVal,
    pub sigev_signo: c_int,
    pub sigev_notify: c_int,
    pub un: SigevUn,
}

/// glibc's `struct aiocb` and `struct aiocb64` (identical on x86_64: 168 bytes).
#[repr(C)]
pub struct Aiocb {
    pub aio_fildes: c_int,
    pub aio_lio_opcode: c_int,
    pub aio_reqprio: c_int,
    pub aio_buf: *mut c_void,
    pub aio_nbytes: usize,
    pub aio_sigevent: SigEvent,
    // Private to the implementation (glibc's names kept for the layout test).
    pub __next_prio: *mut Aiocb,
    pub __abs_prio: c_int,
    pub __policy: c_int,
    pub __error_code: c_int,
    pub __return_value: isize,
    pub aio_offset: i64,
    pub __glibc_reserved: [u8; 32],
}

/// glibc's `struct aiocb64`: the same structure on x86_64 (named apart for the `*64` twins'
/// prototypes in `include/aio_rs.h`).
pub type Aiocb64 = Aiocb;

/// glibc's `struct aioinit`.
#[repr(C)]
pub struct AioInit {
    pub aio_threads: c_int,
    pub aio_num: c_int,
    pub aio_locks: c_int,
    pub aio_usedba: c_int,
    pub aio_debug: c_int,
    pub aio_numusers: c_int,
    pub aio_idle_time: c_int,
    pub aio_reserved: c_int,
}

// `<aio.h>` constants (glibc values).
pub(crate) const AIO_CANCELED: c_int = 0;
pub(crate) const AIO_NOTCANCELED: c_int = 1;
pub(crate) const AIO_ALLDONE: c_int = 2;
pub(crate) const LIO_READ: c_int = 0;
pub(crate) const LIO_WRITE: c_int = 1;
pub(crate) const LIO_NOP: c_int = 2;
pub(crate) const LIO_WAIT: c_int = 0;
pub(crate) const LIO_NOWAIT: c_int = 1;

// `<signal.h>` notification kinds.
pub(crate) const SIGEV_SIGNAL: c_int = 0;
pub(crate) const SIGEV_NONE: c_int = 1;
pub(crate) const SIGEV_THREAD: c_int = 2;
pub(crate) const SIGEV_THREAD_ID: c_int = 4;
/// `si_code` of a signal sent on AIO completion.
pub(crate) const SI_ASYNCIO: c_int = -4;

/// Largest `aio_reqprio` accepted (glibc's `AIO_PRIO_DELTA_MAX`).
pub(crate) const AIO_PRIO_DELTA_MAX: c_int = 20;

const _: () = {
    assert!(size_of::<SigVal>() == 8);
    assert!(size_of::<SigEvent>() == 64);
    assert!(offset_of!(SigEvent, sigev_signo) == 8);
    assert!(offset_of!(SigEvent, sigev_notify) == 12);
    assert!(offset_of!(SigEvent, un) == 16);
    assert!(offset_of!(SigevThread, attribute) == 8);
    assert!(size_of::<Aiocb>() == 168);
    assert!(offset_of!(Aiocb, aio_fildes) == 0);
    assert!(offset_of!(Aiocb, aio_lio_opcode) == 4);
    assert!(offset_of!(Aiocb, aio_reqprio) == 8);
    assert!(offset_of!(Aiocb, aio_buf) == 16);
    assert!(offset_of!(Aiocb, aio_nbytes) == 24);
    assert!(offset_of!(Aiocb, aio_sigevent) == 32);
    assert!(offset_of!(Aiocb, __next_prio) == 96);
    assert!(offset_of!(Aiocb, __abs_prio) == 104);
    assert!(offset_of!(Aiocb, __policy) == 108);
    assert!(offset_of!(Aiocb, __error_code) == 112);
    assert!(offset_of!(Aiocb, __return_value) == 120);
    assert!(offset_of!(Aiocb, aio_offset) == 128);
    assert!(offset_of!(Aiocb, __glibc_reserved) == 136);
    assert!(size_of::<AioInit>() == 32);
};
