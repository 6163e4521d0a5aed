#!/bin/sh
# shellcheck disable=SC2015,SC2254  # `cond && pass || fail` (pass cannot fail); glob patterns on purpose
# shellcheck disable=SC2086  # $CC and $T may hold several words
# Programs refer to glibc's aio_read by symbol version: aio_read@GLIBC_2.2.5 (built before glibc
# 2.34, when it lived in librt) or aio_read@GLIBC_2.34. aio-rs's exports are unversioned, and the
# dynamic loader lets an unversioned definition satisfy a versioned reference, so aio-rs serves
# both, preloaded or linked. This test builds a program for each version (symver_aio_read.c) and
# checks which library serves it: glibc alone, aio-rs under LD_PRELOAD (and AIO_RS_VERBOSE shows
# that aio-rs started), aio-rs linked with -laio_rs. A control shows why the exports must stay
# unversioned: the same library given a version node (built from libaio_rs.a with a version
# script) serves neither.
#
# Usage: symver-test.sh path/to/libaio_rs.so.X.Y.Z path/to/libaio_rs.a
# Environment: CC (default cc).

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$repo/tests/install
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"
CC=${CC:-cc}
T="timeout 60"

absolute() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd -P)" "$1" ;;
    esac
}
so=$(absolute "$1")
a=$(absolute "$2")
for f in "$so" "$a"; do
    [ -f "$f" ] || { echo "symver-test: $f does not exist (run make)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-symver-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export TMPDIR="$tmp"

# Which versions of aio_read this C library has (glibc before 2.34: only GLIBC_2.2.5, in librt).
libc=$($CC -print-file-name=libc.so.6)
versions=$(LC_ALL=C readelf --dyn-syms -W "$libc" 2>/dev/null | sed -n 's/.* aio_read@@*\(GLIBC_[0-9.]*\).*/\1/p' | sort -u)
extra=
if [ -z "$versions" ]; then
    versions=GLIBC_2.2.5
    extra=-lrt
fi
echo "symver-test: this C library has aio_read@{$(echo $versions | tr ' ' ',')}"
for want in GLIBC_2.2.5 GLIBC_2.34; do
    case " $(echo $versions) " in
    *" $want "*) ;;
    *) echo "symver-test: SKIP aio_read@$want: not in this C library" ;;
    esac
done

# The shared library under its SONAME, for -laio_rs.
mkdir -p "$tmp/lib"
ln -s "$so" "$tmp/lib/libaio_rs.so.0"
ln -s libaio_rs.so.0 "$tmp/lib/libaio_rs.so"

# The control: the same code with a version node of its own.
printf 'AIO_RS_TEST_NODE {\n  global:\n    aio_*;\n    lio_*;\n  local:\n    *;\n};\n' >"$tmp/node.map"
mkdir -p "$tmp/versioned"
if $CC -shared -o "$tmp/versioned/libaio_rs.so.0" -Wl,-soname,libaio_rs.so.0 \
    -Wl,--version-script="$tmp/node.map" -Wl,--whole-archive "$a" -Wl,--no-whole-archive \
    -lgcc_s -lpthread -ldl -lm -lc 2>"$tmp/cc.log"; then
    case $(LC_ALL=C readelf --dyn-syms -W "$tmp/versioned/libaio_rs.so.0") in
    *aio_read@@AIO_RS_TEST_NODE*) pass ;;
    *) fail "control: the versioned copy does not define aio_read@@AIO_RS_TEST_NODE" ;;
    esac
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "control: building a versioned copy of the library from libaio_rs.a"
fi

for version in $versions; do
    prog=$tmp/aio_read-$version
    if ! $CC -std=c11 -Wall -Wextra -Werror -DAIO_READ_VERSION="\"$version\"" -I"$here" \
        -o "$prog" "$here/symver_aio_read.c" $extra 2>"$tmp/cc.log"; then
        sed 's/^/    /' "$tmp/cc.log" >&2
        fail "$version: building symver_aio_read.c"
        continue
    fi
    # The program really holds a versioned reference.
    case $(LC_ALL=C readelf --dyn-syms -W "$prog") in
    *" aio_read@$version "*) pass ;;
    *) fail "$version: the program has no reference to aio_read@$version" ;;
    esac

    # glibc alone.
    out=$($T env -u LD_PRELOAD AIO_RS_VERBOSE=1 "$prog" 2>"$tmp/err")
    expect_eq "$version, glibc alone: exit status" 0 "$?"
    case $out in
    *"from: "*libaio_rs*) fail "$version, glibc alone: served by aio-rs?! [$out]" ;;
    *"from: "*/lib*.so*) pass ;;
    *) fail "$version, glibc alone: unexpected [$out]" ;;
    esac
    expect_eq "$version, glibc alone: aio-rs said nothing" "" "$(grep aio-rs "$tmp/err")"

    # Preloaded.
    out=$($T env LD_PRELOAD="$so" AIO_RS_VERBOSE=1 "$prog" 2>"$tmp/err")
    status=$?
    expect_eq "$version, preloaded: exit status" 0 "$status"
    [ "$status" -eq 0 ] || sed 's/^/    /' "$tmp/err" >&2
    expect_match "$version, preloaded: aio_read@$version served by aio-rs" \
        "*aio_read@$version from: $so
*symver: ok" "$out"
    grep -q aio-rs "$tmp/err" && pass || fail "$version, preloaded: AIO_RS_VERBOSE=1 printed nothing (aio-rs did not start)"

    # Linked with -laio_rs (recorded before libc.so.6, so searched first).
    if $CC -std=c11 -Wall -Wextra -Werror -DAIO_READ_VERSION="\"$version\"" -I"$here" \
        -o "$prog.linked" "$here/symver_aio_read.c" -L"$tmp/lib" -Wl,--no-as-needed -laio_rs \
        -Wl,-rpath,"$tmp/lib" $extra 2>"$tmp/cc.log"; then
        out=$($T env -u LD_PRELOAD "$prog.linked" 2>"$tmp/err")
        expect_eq "$version, linked: exit status" 0 "$?"
        expect_match "$version, linked: aio_read@$version served by aio-rs" \
            "*aio_read@$version from: $tmp/lib/libaio_rs.so.0
*symver: ok" "$out"
    else
        sed 's/^/    /' "$tmp/cc.log" >&2
        fail "$version: linking symver_aio_read.c with -laio_rs"
    fi

    # The control: a version node, and the library no longer serves the program.
    if [ -f "$tmp/versioned/libaio_rs.so.0" ]; then
        out=$($T env LD_PRELOAD="$tmp/versioned/libaio_rs.so.0" "$prog" 2>&1)
        case $out in
        *"from: $tmp/versioned/"*) fail "$version, control: a versioned copy served aio_read@$version: the exports' note in build.rs and the README is wrong" ;;
        *"symver: ok"*) pass ;;
        *) fail "$version, control: unexpected [$out]" ;;
        esac
    fi
done

printf 'symver-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
