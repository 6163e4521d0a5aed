#!/bin/sh
# shellcheck disable=SC2015  # `cond && pass || fail` (pass cannot fail)
# The release artifacts that `make` leaves in target/dist (packaging/dist.sh): the shared library
# is stripped and points at its debug file; the static library is readable by binutils' nm, holds
# no LLVM bitcode and no debug information, and makes only the public names global; the exports
# are exactly those of packaging/deb/libaio-rs0.symbols and unversioned.
#
# Usage: artifacts-test.sh DIST_DIR CARGO_SO

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=tests/install/lib.sh
. "$repo/tests/install/lib.sh"

dist=$1
cargo_so=$2
so=$(ls "$dist"/libaio_rs.so.*.*.* 2>/dev/null | grep -v '\.debug$' | head -n 1)
a=$dist/libaio_rs.a
if [ -z "$so" ] || [ ! -f "$a" ]; then
    echo "artifacts-test: no release artifacts in $dist (run make)" >&2
    exit 1
fi
realname=${so##*/}
symbols=$repo/packaging/deb/libaio-rs0.symbols

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-artifacts-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

sections() { LC_ALL=C readelf -SW "$1" 2>/dev/null | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'; }
build_id() { LC_ALL=C readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p'; }

# ---- the shared library --------------------------------------------------------------------------
so_sections=$(sections "$so")
case $so_sections in
*.debug_*) fail "$realname has debug sections: $(printf '%s\n' "$so_sections" | grep '^\.debug' | tr '\n' ' ')" ;;
*) pass ;;
esac
case $so_sections in
*.symtab*) fail "$realname still has a static symbol table (.symtab)" ;;
*) pass ;;
esac
link=$(LC_ALL=C readelf --string-dump=.gnu_debuglink "$so" 2>/dev/null | sed -n 's/^ *\[ *0\] *//p')
expect_eq ".gnu_debuglink names the debug file" "$realname.debug" "$link"
[ -f "$dist/$realname.debug" ] && pass || fail "$dist/$realname.debug is missing"
case $(sections "$dist/$realname.debug") in
*.debug_info*) pass ;;
*) fail "$realname.debug holds no .debug_info" ;;
esac
id=$(build_id "$so")
[ -n "$id" ] && pass || fail "$realname has no build ID"
expect_eq "build ID of the debug file" "$id" "$(build_id "$dist/$realname.debug")"
size_so=$(wc -c <"$so")
size_cargo=$(wc -c <"$cargo_so")
[ "$size_so" -lt "$size_cargo" ] && pass || fail "stripped $realname ($size_so bytes) is not smaller than $cargo_so ($size_cargo)"

# ---- the exports: the symbols file's list, unversioned ------------------------------------------------
expected=$(sed -n 's/^ \([A-Za-z_][A-Za-z0-9_]*\)@Base .*/\1/p' "$symbols" | LC_ALL=C sort)
[ -n "$expected" ] && pass || fail "no symbols in $symbols"
dyn=$(LC_ALL=C readelf --dyn-syms -W "$so" |
    awk '($4 == "FUNC" || $4 == "OBJECT") && ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" { print $8 }' | LC_ALL=C sort)
if [ "$dyn" = "$expected" ]; then
    pass
else
    fail "the exports of $realname differ from $symbols (update it when the API changes):"
    printf '%s\n' "$dyn" | LC_ALL=C comm -3 - "$(printf '%s\n' "$expected" >"$tmp/e" && echo "$tmp/e")" | sed 's/^/    /' >&2
fi
case $dyn in
*@*) fail "versioned exports in $realname: $(printf '%s\n' "$dyn" | grep @ | tr '\n' ' ')" ;;
*) pass ;;
esac
# No version definitions at all (.gnu.version_d): a version node would stop aio-rs from serving
# programs that reference aio_read@GLIBC_2.2.5 or aio_read@GLIBC_2.34 (see build.rs).
case $so_sections in
*.gnu.version_d*) fail "$realname defines symbol versions (.gnu.version_d)" ;;
*) pass ;;
esac
# What dist.sh recorded.
expect_eq "exports.txt" "$expected" "$(LC_ALL=C sort "$dist/exports.txt")"

# ---- the static library ----------------------------------------------------------------------------
if LC_ALL=C nm -g --defined-only "$a" >"$tmp/nm.out" 2>"$tmp/nm.err"; then
    pass
else
    fail "nm cannot read libaio_rs.a: $(cat "$tmp/nm.err")"
fi
expect_eq "nm prints no warning for libaio_rs.a" "" "$(cat "$tmp/nm.err")"
expect_eq "global symbols of libaio_rs.a (nm)" "$expected" "$(awk 'NF == 3 { print $3 }' "$tmp/nm.out" | LC_ALL=C sort -u)"
expect_eq "objects in libaio_rs.a" "libaio_rs.o" "$(ar t "$a")"
a_sections=$(sections "$a")
case $a_sections in
*.llvm*) fail "libaio_rs.a holds LLVM bitcode sections" ;;
*) pass ;;
esac
case $a_sections in
*.debug_*) fail "libaio_rs.a holds debug sections" ;;
*) pass ;;
esac
# The Rust runtime is inside, but local.
nm "$a" 2>/dev/null | grep -q ' [tT] rust_eh_personality$' && pass ||
    fail "libaio_rs.a has no local rust_eh_personality (is the Rust runtime missing?)"
undefined=$(LC_ALL=C nm -u "$a" | awk '{ print $2 }' | grep -v -e '^_Unwind_' -e '^__' | grep -i -e rust -e '^_ZN' -e '^_R' | head -n 5)
expect_eq "no undefined Rust symbols in libaio_rs.a" "" "$undefined"

printf 'artifacts-test: %s %s bytes (cargo: %s), libaio_rs.a %s bytes\n' "$realname" "$size_so" \
    "$size_cargo" "$(wc -c <"$a")"
printf 'artifacts-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
