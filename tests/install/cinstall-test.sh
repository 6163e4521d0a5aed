#!/bin/sh
# shellcheck disable=SC2015  # `cond && pass || fail` (pass cannot fail)
# shellcheck disable=SC2086  # $CC, $PKG_CONFIG and $T may hold several words
# `cargo cinstall` (cargo-c) installs the library with the same SONAME and layout as
# `make install`: lib/libaio_rs.so.X.Y.Z, libaio_rs.so.X, libaio_rs.so, libaio_rs.a,
# include/aio_rs.h (the committed header, byte for byte), lib/pkgconfig/aio_rs.pc; a consumer
# builds with pkg-config from it and runs. Skipped when cargo-c is not installed (installing it
# compiles cargo itself, so CI does not; see the README, "cargo-c").
#
# Usage: cinstall-test.sh TARGET_DIR
# Environment: CARGO, CC, PKG_CONFIG.

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$repo/tests/install
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"
CARGO=${CARGO:-cargo}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
T="timeout 60"
target=$1

if ! command -v cargo-cinstall >/dev/null 2>&1; then
    echo "cinstall-test: SKIP: cargo-c is not installed (cargo install cargo-c)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-cinstall-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export TMPDIR="$tmp"

version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml")
major=${version%%.*}
core=${version%%[-+]*}
stage=$tmp/stage
prefix=/opt/cinstall-test
libdir=$prefix/lib/x86_64-linux-gnu
if ! (cd "$repo" && $CARGO cinstall --release --target-dir "$target" --destdir "$stage" \
    --prefix "$prefix" --libdir "$libdir") >"$tmp/cinstall.log" 2>&1; then
    tail -n 30 "$tmp/cinstall.log" >&2
    fail "cargo cinstall failed"
    printf 'cinstall-test: %d passed, %d failed\n' "$passed" "$failed"
    exit 1
fi
pass

root=$stage$prefix
lib=$stage$libdir
expect_eq "installed files" "$(printf '%s\n' \
    "$root/include/aio_rs.h" \
    "$lib/libaio_rs.a" \
    "$lib/libaio_rs.so" \
    "$lib/libaio_rs.so.$major" \
    "$lib/libaio_rs.so.$core" \
    "$lib/pkgconfig/aio_rs.pc" | LC_ALL=C sort)" "$(find "$stage" ! -type d | LC_ALL=C sort)"
expect_eq "SONAME" "libaio_rs.so.$major" \
    "$(LC_ALL=C readelf -d "$lib/libaio_rs.so.$core" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
expect_eq "libaio_rs.so.$major is a link to the real name" "libaio_rs.so.$core" "$(readlink "$lib/libaio_rs.so.$major")"
cmp -s "$repo/include/aio_rs.h" "$root/include/aio_rs.h" && pass ||
    fail "the installed header differs from include/aio_rs.h"

pc() { env PKG_CONFIG_LIBDIR="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" $PKG_CONFIG "$@"; }
expect_eq "pkg-config --modversion" "$version" "$(pc --modversion aio_rs)"
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer" "$here/consumer.c" \
    $(pc --cflags --libs aio_rs) 2>"$tmp/cc.log"; then
    out=$($T env LD_LIBRARY_PATH="$lib" "$tmp/consumer" dynamic 2>&1)
    expect_match "consumer built against the cargo-c install" "*aio_read from: $lib/libaio_rs.so*consumer: ok" "$out"
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "building the consumer with pkg-config from the cargo-c install"
fi

printf 'cinstall-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
