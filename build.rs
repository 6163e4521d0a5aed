//! Builds the two C files of the library and gives the shared object its SONAME, so programs
//! linked with `-laio_rs` record `libaio_rs.so.0` and keep working across compatible upgrades.
//! The C files exist because a forced unwind (thread cancellation, `pthread_exit`) must never
//! cross a Rust frame:
//! - src/posix/frame.c, the C frame of `aio_suspend` and `lio_listio` (why it is C is said in
//!   src/posix/frame.rs);
//! - src/notify/runner.c, the C thread body that runs SIGEV_THREAD callbacks (a callback may
//!   call `pthread_exit` or be cancelled).
//!
//! The exports stay unversioned: pass no version script with a named node (such as
//! `AIO_RS_0 { global: aio_read; ... };`) here or anywhere else. Programs reference glibc's AIO
//! functions with a version (`aio_read@GLIBC_2.2.5` before glibc 2.34, `aio_read@GLIBC_2.34`
//! since), and the dynamic loader lets an unversioned definition satisfy either, while a
//! definition carrying another version node satisfies neither: the library would be loaded but
//! glibc would keep serving the calls. (rustc's own version script for a cdylib only hides the
//! non-exported symbols; its node is anonymous, so the exports stay unversioned.)
//! packaging/dist.sh refuses a library with versioned exports, and tests/install/symver-test.sh
//! checks that both glibc versions of `aio_read` are served by aio-rs.

fn main() {
    // -fexceptions: pthread_cleanup_push then registers its handler as an unwind cleanup of the
    // frame, which glibc's cancellation unwinder runs.
    cc::Build::new().file("src/posix/frame.c").flag("-fexceptions").warnings(true).compile("aio_rs_frame");
    println!("cargo:rerun-if-changed=src/posix/frame.c");
    cc::Build::new().file("src/notify/runner.c").flag("-pthread").warnings(true).compile("aio_rs_runner");
    println!("cargo:rerun-if-changed=src/notify/runner.c");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaio_rs.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
