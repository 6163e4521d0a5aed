//! Signal delivery: `SIGEV_SIGNAL` and `SIGEV_THREAD_ID`.

use core::ffi::c_int;

use crate::abi::SigVal;
use crate::sys;

/// Queues `signo` with `si_code = SI_ASYNCIO`, this process's pid and uid and `value`, to the
/// process (`tid` None) or to one of its threads. Async-signal-safe; `errno` is preserved.
pub(crate) fn send(tid: Option<libc::pid_t>, signo: c_int, value: SigVal) {
    sys::queue_asyncio_signal(tid, signo, value);
}
