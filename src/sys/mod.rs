//! The system layer: the only module of the crate that calls libc or makes system calls.
//!
//! Everything above it speaks in typed values (`OwnEventFd`, `Lock`, `Duration`, `Errno`, results in
//! the kernel's `-errno` convention) and never calls a libc function itself; plain libc *types* and
//! *constants* (`libc::timespec`, `libc::EINPROGRESS`) are used freely. The rule is checked by
//! `tests/architecture.rs` (run by `cargo test`, so by `make check` and CI): outside `src/sys/`, no
//! `libc::name(` call, no `use libc::` import and no `extern "C"` block may appear. io_uring
//! rings are set up by the io-uring crate, whose typed interface only `engine::backend::uring` uses;
//! entering a ring goes through [`uring_enter`] here, with our own (moved, tagged) ring number.
//!
//! Why a source check rather than clippy's `disallowed_methods` or rustix: `disallowed_methods`
//! needs every forbidden function listed by path (libc has thousands, and a call of one nobody
//! listed would pass silently), and rustix would change how each call behaves (its own errno
//! handling, vDSO use, cancellation semantics) for no gain in this step, while the check wanted
//! is simply "where": one scan of the source says it exactly.
//!
//! Every system call is made raw (`libc::syscall`; the two made for every page-cache hit served on
//! the caller's thread, `preadv2` and `fcntl(F_GETFL)`, with the `syscall` instruction itself, see
//! `vec::raw`), never through glibc's wrappers: many of those
//! (`read`, `write`, `open`, `close`, `poll`, `fsync`, `pread`, ...) are cancellation points, and a
//! thread cancelled inside an AIO call other than `aio_suspend`/`lio_listio(LIO_WAIT)` would be
//! unwound through Rust frames. The libc functions still called are not cancellation points and
//! do not block: `pthread_*` setup, `sigprocmask`, `clock_gettime` (vDSO), `sysconf`,
//! `getauxval`, `getenv`, `strerror`, `atexit`.
//!
//! Every function here is async-signal-safe unless its documentation says otherwise.

mod aio;
mod cqfd;
mod doorbell;
mod env;
mod epoll;
mod errno;
mod fd;
mod futex;
mod gate;
mod held;
mod io;
mod lock;
mod log;
mod proc;
mod shm;
mod signal;
mod sleep;
mod stack;
mod thread;
mod time;
mod uring;
mod vec;

pub(crate) use self::aio::{
    AioContext, IoEvent, Iocb, IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PREADV, IOCB_CMD_PWRITE,
    IOCB_CMD_PWRITEV, IOCB_FLAG_RESFD,
};
pub(crate) use self::cqfd::{
    close_raw, efd_drain, efd_signal, epoll_add, epoll_new, epoll_take, eventfd_new, mark, marked, wait_readable,
};
pub(crate) use self::doorbell::Doorbell;
pub(crate) use self::env::var;
pub(crate) use self::epoll::{epoll_ctl, epoll_wait, sock_send_quiet, sock_transfer, OwnEpoll};
pub(crate) use self::errno::{strerror, ErrnoGuard};
pub(crate) use self::fd::{
    claim, claimed_by, close, close_own_inherited, dup_high, file_id, is_open, is_own_by, is_pipe, move_high,
    new_owner, status_flags, tag_own, FileId, OwnEventFd,
};
pub(crate) use self::futex::{futex_wait, futex_wake, EventCount, Guard, Lock};
pub(crate) use self::gate::{close_for_fork, open_after_fork, reset_in_child, section as fd_section};
pub(crate) use self::held::{
    held_file, held_ident, held_ok, held_ok_recent, held_refuses, held_same, held_same_stands, hold,
    hold_after_attempt, release, release_all_inherited, release_checked, Held,
};
pub(crate) use self::io::{fdatasync, fsync, poll, pread, pwrite, transfer};
pub(crate) use self::log::{log_line, open_append, read_number, write_all};
pub(crate) use self::proc::{at_exit, at_fork, cpus_allowed, cpus_configured, getpid, getuid, self_stat};
pub(crate) use self::shm::{create_shared, map_anonymous, unlink};
pub(crate) use self::signal::{alt_stack, pipe_write_quiet, queue_asyncio_signal, sigrtmax, thread_in_process};
pub(crate) use self::sleep::SleepCall;
pub(crate) use self::stack::{Linked, Stack};
pub(crate) use self::thread::{
    spawn, spawn_runner, thread_name, thread_pointer, yield_now, NoCancel, Runner, ThreadAttr,
};
pub(crate) use self::time::{now, timespec};
pub(crate) use self::uring::uring_enter;
pub(crate) use self::vec::{transfer_one, transfer_vec};
