//! Time: the one conversion from `Duration` to `timespec`, and the monotonic clock.

use core::time::Duration;

/// A relative `timespec` for `d`; durations beyond what `time_t` holds saturate (an endless wait).
pub(crate) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// The current time on CLOCK_MONOTONIC.
pub(crate) fn now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_saturates() {
        let t = timespec(Duration::new(5, 7));
        assert_eq!((t.tv_sec, t.tv_nsec), (5, 7));
        assert_eq!(timespec(Duration::MAX).tv_sec, libc::time_t::MAX);
        assert!(now() <= now());
    }
}
