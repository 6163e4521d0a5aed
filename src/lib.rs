//! aio-rs: glibc's POSIX AIO ABI on io_uring, kernel AIO and per-CPU worker queues.
//!
//! The C entry points live in [`posix`], one module per POSIX function family; the engine that
//! runs requests lives in [`engine`]. See `docs/ARCHITECTURE.md` for how a request flows.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod engine;
pub mod errno;
pub mod notify;
pub mod posix;
pub mod stats;
pub mod sys;
mod version;

pub use version::*;
