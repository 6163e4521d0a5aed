//! Gives the shared object its SONAME, so programs linked with `-laio_rs` record
//! `libaio_rs.so.0` and keep working across compatible upgrades; and compiles the C thread body
//! that runs SIGEV_THREAD callbacks (`src/notify/runner.c`: a callback may call `pthread_exit`,
//! whose unwinding must not cross Rust frames).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaio_rs.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/notify/runner.c");
    cc::Build::new().file("src/notify/runner.c").flag("-pthread").warnings(true).compile("aio_rs_runner");
}
