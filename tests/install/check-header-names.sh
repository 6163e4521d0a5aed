#!/bin/sh
# Checks that include/aio_rs.h declares only aio-rs's own names: macros AIO_RS_*, functions
# aio_rs_*, and includes nothing but <aio.h> and <stdint.h>. The POSIX AIO names belong to
# <aio.h>; a redeclaration here (say, cbindgen picking up a new pub item of src/abi.rs) could
# clash with it, and a leaked internal type would make the header lie about the ABI.
#
# Usage: check-header-names.sh [include/aio_rs.h]

set -u
header=${1:-include/aio_rs.h}
CC=${CC:-cc}

[ -f "$header" ] || { echo "check-header-names: $header does not exist" >&2; exit 1; }

# The header without its comments, directives kept.
stripped=$($CC -fpreprocessed -dD -E -P -x c "$header") || exit 1

bad=$(printf '%s\n' "$stripped" | awk '
    function complain(why) { print "  " why ": " $0; n++ }
    /^[ \t]*$/ { next }
    /^[ \t]*#[ \t]*define[ \t]/ {
        name = $0
        sub(/^[ \t]*#[ \t]*define[ \t]+/, "", name)
        sub(/[ \t(].*$/, "", name)
        if (name != "AIO_RS_H" && name !~ /^AIO_RS_[A-Z0-9_]+$/) complain("foreign macro")
        next
    }
    /^[ \t]*#[ \t]*include/ {
        if ($0 !~ /<aio\.h>/ && $0 !~ /<stdint\.h>/) complain("unexpected include")
        next
    }
    /^[ \t]*#/ { next }
    /^[ \t]*extern "C" \{[ \t]*$/ { next }
    /^[ \t]*\}[ \t]*$/ { next }
    {
        if ($0 ~ /(^|[^A-Za-z0-9_])(struct|union|enum|typedef)([^A-Za-z0-9_]|$)/) {
            complain("type definition")
        } else if ($0 !~ /(^|[^A-Za-z0-9_])aio_rs_[a-z0-9_]*[ \t]*\(/) {
            complain("declaration of a name outside aio_rs_*")
        }
    }
    END { exit n > 0 }
')
if [ -n "$bad" ]; then
    echo "check-header-names: $header declares names that are not aio-rs's own:" >&2
    printf '%s\n' "$bad" >&2
    echo "  (exclude them in cbindgen.toml [export] exclude, or mark them cbindgen:ignore)" >&2
    exit 1
fi
for name in AIO_RS_VERSION_MAJOR AIO_RS_VERSION_MINOR AIO_RS_VERSION_PATCH; do
    printf '%s\n' "$stripped" | grep -q "^#define $name [0-9][0-9]*\$" ||
        { echo "check-header-names: $header lacks '#define $name <number>'" >&2; exit 1; }
done
printf '%s\n' "$stripped" | grep -q 'aio_rs_version(void);' ||
    { echo "check-header-names: $header lacks the aio_rs_version declaration" >&2; exit 1; }
echo "check-header-names: $header declares only aio-rs names"
