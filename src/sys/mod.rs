//! The system layer: the only module of the crate that calls libc or makes system calls.
//!
//! Everything above it speaks in typed values (`EventFd`, `Lock`, `Duration`, `Errno`, results in
//! the kernel's `-errno` convention) and never calls a libc function itself; plain libc *types* and
//! *constants* (`libc::timespec`, `libc::EINPROGRESS`) are used freely. The rule is checked by
//! `tests/architecture.rs` (run by `cargo test`, so by `make check` and CI): outside `src/sys/`, no
//! `libc::name(` call, no `use libc::` import and no `extern "C"` block may appear. io_uring's
//! own system calls are made by the io-uring crate, whose typed interface only
//! `engine::backend::uring` uses.
//!
//! Why a source check rather than clippy's `disallowed_methods` or rustix: `disallowed_methods`
//! needs every forbidden function listed by path (libc has thousands, and a call of one nobody
//! listed would pass silently), and rustix would change how each call behaves (its own errno
//! handling, vDSO use, cancellation semantics) for no gain in this step, while the check wanted
//! is simply "where": one scan of the source says it exactly.
//!
//! Every function here is async-signal-safe unless its documentation says otherwise.

mod aio;
mod errno;
mod fd;
mod futex;
mod io;
mod proc;
mod signal;
mod stack;
mod thread;
mod time;

pub(crate) use self::aio::{
    AioContext, IoEvent, Iocb, IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_POLL, IOCB_CMD_PREAD, IOCB_CMD_PWRITE,
    IOCB_FLAG_RESFD,
};
pub(crate) use self::errno::{strerror, ErrnoGuard};
pub(crate) use self::fd::{close, file_id, is_open, status_flags, EventFd, FileId};
pub(crate) use self::futex::{futex_wait, futex_wake, EventCount, Guard, Lock};
pub(crate) use self::io::{fdatasync, fsync, poll, pread, pwrite, sleep_until_signal, transfer};
pub(crate) use self::proc::{at_exit, at_fork, cpus_configured};
pub(crate) use self::signal::{queue_asyncio_signal, sigrtmax, thread_in_process};
pub(crate) use self::stack::{Linked, Stack};
pub(crate) use self::thread::{spawn, yield_now, ThreadAttr};
pub(crate) use self::time::now;
