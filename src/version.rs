//! The library's version, exported to C.
//!
//! The three numbers are written out as plain constants so that cbindgen can turn them into
//! `#define`s in `include/aio_rs.h`; a compile-time assertion ties them to the version in
//! `Cargo.toml`, so a release that bumps one but not the other does not build.

use core::ffi::c_char;

/// Major version of aio-rs (the first number of the package version).
///
/// Together with `AIO_RS_VERSION_MINOR` and `AIO_RS_VERSION_PATCH` it describes the header that
/// a program was compiled against; `aio_rs_version()` tells the version of the library that is
/// actually loaded.
pub const AIO_RS_VERSION_MAJOR: u32 = 0;

/// Minor version of aio-rs (the second number of the package version).
pub const AIO_RS_VERSION_MINOR: u32 = 1;

/// Patch version of aio-rs (the third number of the package version).
pub const AIO_RS_VERSION_PATCH: u32 = 0;

/// Returns the `index`-th (0, 1 or 2) dot-separated decimal number of a `MAJOR.MINOR.PATCH`
/// version string. A pre-release or build suffix after the patch number (`-rc.1`, `+abc`) is
/// ignored. Any malformed input stops compilation when used in a constant.
const fn version_number(version: &str, index: usize) -> u32 {
    let bytes = version.as_bytes();
    let mut pos = 0;
    let mut field = 0;
    let value = loop {
        let start = pos;
        let mut value: u32 = 0;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            let digit = (bytes[pos] - b'0') as u32;
            value = match value.checked_mul(10) {
                Some(v) => match v.checked_add(digit) {
                    Some(v) => v,
                    None => panic!("version number does not fit in u32"),
                },
                None => panic!("version number does not fit in u32"),
            };
            pos += 1;
        }
        assert!(pos > start, "version number expected");
        if field == index {
            break value;
        }
        assert!(field < 2, "a version has three numbers");
        assert!(pos < bytes.len() && bytes[pos] == b'.', "'.' expected between version numbers");
        pos += 1;
        field += 1;
    };
    if index < 2 {
        assert!(pos < bytes.len() && bytes[pos] == b'.', "'.' expected after version number");
    } else {
        assert!(
            pos == bytes.len() || bytes[pos] == b'-' || bytes[pos] == b'+',
            "only a '-' or '+' suffix may follow the patch number"
        );
    }
    value
}

const _: () = {
    let v = env!("CARGO_PKG_VERSION");
    assert!(
        version_number(v, 0) == AIO_RS_VERSION_MAJOR,
        "AIO_RS_VERSION_MAJOR differs from the version in Cargo.toml"
    );
    assert!(
        version_number(v, 1) == AIO_RS_VERSION_MINOR,
        "AIO_RS_VERSION_MINOR differs from the version in Cargo.toml"
    );
    assert!(
        version_number(v, 2) == AIO_RS_VERSION_PATCH,
        "AIO_RS_VERSION_PATCH differs from the version in Cargo.toml"
    );
};

/// The package version followed by a NUL byte, so it can be handed to C as is.
static VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the version of the loaded aio-rs library as a NUL-terminated string such as "0.1.0".
///
/// The string is static: the caller must not modify or free it. The function never fails and
/// never returns NULL; it is async-signal-safe. A non-NULL result also proves that aio-rs (and
/// not only glibc) is linked into or preloaded in the process.
#[no_mangle]
pub extern "C" fn aio_rs_version() -> *const c_char {
    VERSION_NUL.as_ptr().cast::<c_char>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn version_string_matches_package() {
        // SAFETY: aio_rs_version returns a pointer to a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(aio_rs_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn numbers_match_string() {
        let expect = format!("{}.{}.{}", AIO_RS_VERSION_MAJOR, AIO_RS_VERSION_MINOR, AIO_RS_VERSION_PATCH);
        assert!(env!("CARGO_PKG_VERSION").starts_with(&expect));
    }

    #[test]
    fn parser() {
        assert_eq!(version_number("0.1.0", 0), 0);
        assert_eq!(version_number("0.1.0", 1), 1);
        assert_eq!(version_number("12.345.6789", 2), 6789);
        assert_eq!(version_number("1.2.3-rc.4", 2), 3);
        assert_eq!(version_number("1.2.3+build.7", 2), 3);
        assert_eq!(version_number("4294967295.0.0", 0), u32::MAX);
    }

    #[test]
    #[should_panic]
    fn parser_rejects_short() {
        version_number("1.2", 2);
    }

    #[test]
    #[should_panic]
    fn parser_rejects_garbage_suffix() {
        version_number("1.2.3x", 2);
    }

    #[test]
    #[should_panic]
    fn parser_rejects_overflow() {
        version_number("4294967296.0.0", 0);
    }
}
