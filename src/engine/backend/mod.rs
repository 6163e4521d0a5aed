//! The three backends a request can run on. Each knows requests (`super::request`) and the
//! system (`crate::sys`, or the io-uring crate), and nothing of the engine above: they report
//! completions as `request::Completion` values, handed to the reaper's callback (io_uring, kernel
//! AIO) or to the `request::Completions` sink the workers were given (threads).

pub(crate) mod kaio;
pub(crate) mod threads;
pub(crate) mod uring;
