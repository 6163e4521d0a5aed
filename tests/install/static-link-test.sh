#!/bin/sh
# shellcheck disable=SC2015,SC2254  # `cond && pass || fail` (pass cannot fail); glob patterns on purpose
# shellcheck disable=SC2086  # $CC and $LIBS may hold several words
# A C program links the release libaio_rs.a together with another Rust static library (built
# here from other_rust.rs, with its own copy of the Rust standard library), in both orders,
# without duplicate symbols, and both libraries work in the one process. nm shows that the two
# archives share no global name.
#
# Usage: static-link-test.sh path/to/dist/libaio_rs.a
# Environment: CC (default cc), RUSTC (default rustc).

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$repo/tests/install
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"
CC=${CC:-cc}
RUSTC=${RUSTC:-rustc}
T="timeout 60"
# What a program linking a Rust static library needs from the system (see LIBS_PRIVATE in the
# Makefile). --gc-sections is for the other library: a plain Rust static library carries all of
# std, whose unused parts may call C library functions newer than the system's (libaio_rs.a is
# reduced to what it uses already, and install-test.sh links it without this option).
LIBS="-Wl,--gc-sections -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

a=$1
case $a in
/*) ;;
*) a=$(pwd -P)/$a ;;
esac
[ -f "$a" ] || { echo "static-link-test: $a does not exist (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-static-link-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export TMPDIR="$tmp"

# The other Rust static library.
if ! "$RUSTC" --edition 2021 --crate-type staticlib --crate-name other_rust -C opt-level=2 \
    -o "$tmp/libother_rust.a" "$here/other_rust.rs" 2>"$tmp/rustc.log"; then
    cat "$tmp/rustc.log" >&2
    echo "static-link-test: building the second Rust static library failed" >&2
    exit 1
fi
pass

# The names the two define globally do not meet. Ours with nm (which must be able to read it);
# the other with readelf, because nm may not read a plain Rust static library (its LLVM bitcode
# goes to the LTO plugin when one is installed, and nm then sees no symbols).
LC_ALL=C nm -g --defined-only "$a" 2>"$tmp/nm.err" | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u >"$tmp/ours"
expect_eq "nm reads libaio_rs.a without complaint" "" "$(cat "$tmp/nm.err")"
LC_ALL=C readelf -sW "$tmp/libother_rust.a" 2>/dev/null |
    awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && NF >= 8 { print $8 }' | LC_ALL=C sort -u >"$tmp/theirs"
[ -s "$tmp/theirs" ] && pass || fail "nm found no global symbols in the second Rust library"
grep -qx rust_eh_personality "$tmp/theirs" && pass ||
    fail "the second Rust library does not define rust_eh_personality globally (is the test still meaningful?)"
common=$(LC_ALL=C comm -12 "$tmp/ours" "$tmp/theirs")
expect_eq "global names defined by both archives" "" "$common"
echo "static-link-test: libaio_rs.a defines $(wc -l <"$tmp/ours") global names, the other Rust library $(wc -l <"$tmp/theirs")"

# Link in both orders and run.
for order in aio-first other-first; do
    case $order in
    aio-first) archives="$a $tmp/libother_rust.a" ;;
    *) archives="$tmp/libother_rust.a $a" ;;
    esac
    if $CC -std=c11 -Wall -Wextra -Werror -I"$repo/include" -I"$here" -o "$tmp/prog-$order" \
        "$here/two_rust_libs.c" $archives $LIBS 2>"$tmp/link.log"; then
        pass
    else
        sed 's/^/    /' "$tmp/link.log" | head -n 20 >&2
        fail "$order: linking libaio_rs.a with another Rust static library failed"
        continue
    fi
    case $(LC_ALL=C readelf -d "$tmp/prog-$order") in
    *libaio_rs*) fail "$order: the program needs libaio_rs.so" ;;
    *) pass ;;
    esac
    out=$($T env -u LD_PRELOAD -u LD_LIBRARY_PATH "$tmp/prog-$order" 2>"$tmp/run.err")
    status=$?
    expect_eq "$order: exit status" 0 "$status"
    [ "$status" -eq 0 ] || sed 's/^/    /' "$tmp/run.err" >&2
    expect_match "$order: aio_read is the program's own (linked from libaio_rs.a)" \
        "*aio_read from: $tmp/prog-$order
*" "$out"
    expect_match "$order: both libraries work" "*other_rust_sum: 5050*two_rust_libs: ok" "$out"
done

printf 'static-link-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
