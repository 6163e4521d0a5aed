//! aio-rs: glibc's POSIX AIO ABI on io_uring, kernel AIO and per-CPU worker queues.
//!
//! The C entry points live in [`posix`], one module per POSIX function family; the engine that
//! runs requests lives in [`engine`]. See `docs/ARCHITECTURE.md` for how a request flows.

#![deny(unreachable_pub, unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod abi;
pub(crate) mod engine;
pub(crate) mod errno;
pub mod ext;
pub(crate) mod notify;
pub mod posix;
pub(crate) mod sys;
mod version;

pub use version::*;
