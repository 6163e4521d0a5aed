#!/bin/sh
# Turns cargo's release output into the release artifacts that `make install` and `make deb`
# ship (`make` runs this after `cargo build --release`):
#
#   OUTDIR/libaio_rs.so.X.Y.Z        the shared library, stripped, with a .gnu_debuglink to
#   OUTDIR/libaio_rs.so.X.Y.Z.debug  its debug information (objcopy --only-keep-debug)
#   OUTDIR/libaio_rs.a               the static library: one relocatable object, no LLVM bitcode,
#                                    no debug information, only the public names global
#   OUTDIR/exports.txt               the public names (what the shared library exports)
#
# Why the static library is rebuilt: the archive cargo makes holds every object of the Rust
# standard library with its symbols global (about 2,000 of them) and LLVM bitcode sections that
# binutils' nm cannot read. Two Rust static libraries in one program then clash (duplicate
# rust_eh_personality, __rust_alloc, ...). Here the objects that the public functions need are
# linked into one object (ld -r, unused sections dropped), and every symbol but the public ones
# is made local (objcopy --keep-global-symbols), so the Rust runtime inside stays private.
#
# Usage: dist.sh CARGO_SO CARGO_A OUTDIR REALNAME SONAME
# Environment: OBJCOPY, STRIP, LD, READELF, NM (defaults: the binutils of PATH).

set -eu

if [ $# -ne 5 ]; then
    echo "usage: $0 CARGO_SO CARGO_A OUTDIR REALNAME SONAME" >&2
    exit 2
fi
so=$1
a=$2
out=$3
realname=$4
soname=$5
OBJCOPY=${OBJCOPY:-objcopy}
STRIP=${STRIP:-strip}
LD=${LD:-ld}
READELF=${READELF:-readelf}
NM=${NM:-nm}

die() {
    printf 'dist: error: %s\n' "$*" >&2
    exit 1
}

for f in "$so" "$a"; do
    [ -f "$f" ] || die "$f does not exist (cargo build --release makes it)"
done

# The SONAME (set by build.rs).
got=$(LC_ALL=C "$READELF" -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$got" = "$soname" ] || die "$so has SONAME '$got', expected '$soname' (build.rs passes -Wl,-soname)"

mkdir -p "$out"
work=$(mktemp -d "$out/.dist.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The public names: what the shared library defines in its dynamic symbol table.
LC_ALL=C "$READELF" --dyn-syms -W "$so" |
    awk '($4 == "FUNC" || $4 == "OBJECT") && ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" { print $8 }' |
    LC_ALL=C sort -u >"$work/exports.txt"
[ -s "$work/exports.txt" ] || die "$so exports nothing"
if grep '@' "$work/exports.txt" >/dev/null; then
    die "$so exports versioned symbols ($(grep '@' "$work/exports.txt" | tr '\n' ' '));" \
        "the exports must stay unversioned (see the comment in build.rs)"
fi

# The shared library: debug information split off, then stripped like a distribution does.
"$OBJCOPY" --only-keep-debug "$so" "$work/$realname.debug"
chmod 0644 "$work/$realname.debug"
"$STRIP" --strip-unneeded --remove-section=.comment -o "$work/$realname" "$so"
(cd "$work" && "$OBJCOPY" --add-gnu-debuglink="$realname.debug" "$realname")
chmod 0755 "$work/$realname"

# The static library. objcopy works member by member; dropping the bitcode first also keeps
# ld from handing the members to an LTO plugin.
"$OBJCOPY" --remove-section=.llvmbc --remove-section=.llvmcmd "$a" "$work/nobitcode.a"
roots=
while read -r sym; do
    roots="$roots -u $sym"
done <"$work/exports.txt"
# --force-group-allocation dissolves the COMDAT groups (e.g. DW.ref.rust_eh_personality): a group
# left in the object would make the linker drop another Rust library's copy of that group as a
# duplicate, and that library's references to its (hidden) symbol would be left undefined.
# shellcheck disable=SC2086  # $roots is a list of options
"$LD" -r --gc-sections --force-group-allocation $roots -o "$work/aio_rs.o" "$work/nobitcode.a"
"$OBJCOPY" --strip-debug --remove-section=.comment --keep-global-symbols="$work/exports.txt" \
    "$work/aio_rs.o" "$work/aio_rs.local.o"
# A member name that says what it is; ar D: deterministic (no time stamps or owners).
mv "$work/aio_rs.local.o" "$work/libaio_rs.o"
(cd "$work" && ar rcD libaio_rs.a libaio_rs.o)

# Check the result: nm reads it, it defines exactly the public names, and nothing else is global.
defined=$(LC_ALL=C "$NM" -g --defined-only "$work/libaio_rs.a" 2>"$work/nm.err" |
    awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u) || die "nm cannot read libaio_rs.a: $(cat "$work/nm.err")"
[ ! -s "$work/nm.err" ] || die "nm complains about libaio_rs.a: $(cat "$work/nm.err")"
[ "$defined" = "$(cat "$work/exports.txt")" ] ||
    die "libaio_rs.a defines global symbols other than the exports:" \
        "$(printf '%s\n' "$defined" | LC_ALL=C comm -23 - "$work/exports.txt" | head -n 10 | tr '\n' ' ')"
if LC_ALL=C "$READELF" -SW "$work/libaio_rs.a" | grep -q '\.llvm'; then
    die "libaio_rs.a still holds LLVM bitcode sections"
fi
if LC_ALL=C "$READELF" -SW "$work/libaio_rs.a" | grep -q ' GROUP '; then
    die "libaio_rs.a still holds COMDAT groups"
fi
chmod 0644 "$work/libaio_rs.a"

# Into place, each file replaced whole.
for f in exports.txt "$realname.debug" "$realname" libaio_rs.a; do
    mv -f "$work/$f" "$out/$f"
done
printf 'dist: %s (%s bytes, debug info in %s), libaio_rs.a (%s bytes, %s public symbols)\n' \
    "$out/$realname" "$(wc -c <"$out/$realname" | tr -d ' ')" "$realname.debug" \
    "$(wc -c <"$out/libaio_rs.a" | tr -d ' ')" "$(wc -l <"$out/exports.txt" | tr -d ' ')"
