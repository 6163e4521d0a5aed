//! aio-rs's additions to the C interface, as constants `include/aio_rs.h` defines (cbindgen turns
//! each `pub const` here into a `#define`; the functions are in `crate::posix`). Where FreeBSD has
//! the same facility its names are kept, so that FreeBSD code builds with at most one small change
//! (see aio_rs(7)); the values are chosen not to collide with glibc's.

use core::ffi::c_int;

/// Defined when the library has vector AIO: `aio_readv`, `aio_writev`, `aio_read2`, `aio_write2`,
/// `LIO_READV` and `LIO_WRITEV`.
pub const AIO_RS_HAVE_VECTOR: c_int = 1;

/// Defined when the library has completion queues: `aio_rs_cq_create`, `aio_rs_cq_harvest`,
/// `aio_rs_cq_close` and the `AIO_RS_SIGEV_QUEUE` notification.
pub const AIO_RS_HAVE_CQ: c_int = 1;

/// Defined when the library has FreeBSD's `aio_waitcomplete`.
pub const AIO_RS_HAVE_WAITCOMPLETE: c_int = 1;

/// `lio_listio` opcode flag: the entry's `aio_buf` is an iovec array of `aio_nbytes` entries.
/// glibc's own opcodes are 0 to 4 (LIO_READ, LIO_WRITE, LIO_NOP, and two it uses internally), and
/// it marks its 64-bit forms with 128; this flag collides with none of them.
pub const LIO_VECTORED: c_int = 0x10;

/// `lio_listio` opcode: a vectored read (`LIO_READ | LIO_VECTORED`), as `aio_readv`.
pub const LIO_READV: c_int = 0x10;

/// `lio_listio` opcode: a vectored write (`LIO_WRITE | LIO_VECTORED`), as `aio_writev`.
pub const LIO_WRITEV: c_int = 0x11;

/// `aio_read2`/`aio_write2` flag: transfer at the descriptor's file position, which the transfer
/// advances as `read(2)`/`write(2)` would; `aio_offset` is ignored (FreeBSD's value).
pub const AIO_OP2_FOFFSET: c_int = 0x1;

/// `aio_read2`/`aio_write2` flag: `aio_buf` is an iovec array of `aio_nbytes` entries, as for
/// `aio_readv`/`aio_writev` (FreeBSD's value).
pub const AIO_OP2_VECTORED: c_int = 0x2;

/// `sigev_notify` value: on completion, put the request on the completion queue whose descriptor
/// is in `sigev_signo` (or on the `aio_waitcomplete` queue, `AIO_RS_WAITCOMPLETE_QUEUE`).
/// `sigev_value` is the program's cookie, left as it is. glibc uses 0, 1, 2 and 4.
pub const AIO_RS_SIGEV_QUEUE: c_int = 0x5143;

/// `sigev_signo` value with `AIO_RS_SIGEV_QUEUE`: the process's own queue, which
/// `aio_waitcomplete` harvests. (Written into the header by hand, as `(-1)`: see cbindgen.toml.)
///
/// cbindgen:ignore
pub const AIO_RS_WAITCOMPLETE_QUEUE: c_int = -1;
