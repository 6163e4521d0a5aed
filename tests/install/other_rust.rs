//! A second Rust static library for tests/install/static-link-test.sh: a C program links it
//! together with libaio_rs.a. It carries its own copy of the Rust standard library (allocation,
//! formatting, panics caught with catch_unwind), whose global symbols would clash with an
//! aio-rs archive that left its copy's symbols global.

use std::panic;

/// Sums 1..=n through a Vec and a formatted String, and catches a panic on the way: returns the
/// sum when everything worked, 0 otherwise.
#[no_mangle]
pub extern "C" fn other_rust_sum(n: u32) -> u64 {
    let caught = panic::catch_unwind(|| {
        if n > 0 {
            panic!("other_rust: expected panic");
        }
    });
    if caught.is_ok() {
        return 0;
    }
    let v: Vec<u64> = (1..=u64::from(n)).collect();
    let text = format!("{}", v.iter().sum::<u64>());
    text.parse().unwrap_or(0)
}
