//! Gives the shared object its SONAME, so programs linked with `-laio_rs` record
//! `libaio_rs.so.0` and keep working across compatible upgrades.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaio_rs.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
