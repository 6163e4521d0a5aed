//! Builds the C frame of `aio_suspend` and `lio_listio` (src/posix/frame.c: why it is C is said in
//! src/posix/frame.rs), and gives the shared object its SONAME, so programs linked with
//! `-laio_rs` record `libaio_rs.so.0` and keep working across compatible upgrades.

fn main() {
    // -fexceptions: pthread_cleanup_push then registers its handler as an unwind cleanup of the
    // frame, which glibc's cancellation unwinder runs.
    cc::Build::new().file("src/posix/frame.c").flag("-fexceptions").warnings(true).compile("aio_rs_frame");
    println!("cargo:rerun-if-changed=src/posix/frame.c");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaio_rs.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
