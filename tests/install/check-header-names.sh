#!/bin/sh
# Checks that include/aio_rs.h declares only aio-rs's own names: macros AIO_RS_*, functions
# aio_rs_*, the FreeBSD-compatible names listed below, and includes nothing but <aio.h>,
# <stdint.h> and <sys/uio.h>. The POSIX AIO names belong to <aio.h>; a redeclaration here (say,
# cbindgen picking up a new pub item of src/abi.rs) could clash with it, and a leaked internal
# type would make the header lie about the ABI.
#
# Usage: check-header-names.sh [include/aio_rs.h]

set -u
header=${1:-include/aio_rs.h}
CC=${CC:-cc}

[ -f "$header" ] || { echo "check-header-names: $header does not exist" >&2; exit 1; }

# FreeBSD's names for vector AIO and aio_waitcomplete, which the header defines on purpose.
freebsd_macros=" LIO_VECTORED LIO_READV LIO_WRITEV AIO_OP2_FOFFSET AIO_OP2_VECTORED aio_iov aio_iovcnt "
freebsd_funcs=" aio_readv aio_writev aio_read2 aio_write2 aio_readv64 aio_writev64 aio_waitcomplete "

# The header without its comments, directives kept.
stripped=$($CC -fpreprocessed -dD -E -P -x c "$header") || exit 1

bad=$(printf '%s\n' "$stripped" | awk -v fm="$freebsd_macros" -v ff="$freebsd_funcs" '
    function complain(why) { print "  " why ": " $0; n++ }
    /^[ \t]*$/ { next }
    /^[ \t]*#[ \t]*define[ \t]/ {
        name = $0
        sub(/^[ \t]*#[ \t]*define[ \t]+/, "", name)
        sub(/[ \t(].*$/, "", name)
        if (name != "AIO_RS_H" && name !~ /^AIO_RS_[A-Z0-9_]+$/ && index(fm, " " name " ") == 0)
            complain("foreign macro")
        next
    }
    /^[ \t]*#[ \t]*include/ {
        if ($0 !~ /<aio\.h>/ && $0 !~ /<stdint\.h>/ && $0 !~ /<sys\/uio\.h>/) complain("unexpected include")
        next
    }
    /^[ \t]*#/ { next }
    /^[ \t]*extern "C" \{[ \t]*$/ { next }
    /^[ \t]*\}[ \t]*$/ { next }
    # A continuation line of a macro body.
    /^[ \t]+\(/ { next }
    {
        fname = ""
        if (match($0, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
            fname = substr($0, RSTART, RLENGTH)
            sub(/[ \t]*\($/, "", fname)
        }
        line = $0
        # Parameters may name glibc structures (struct aiocb *); nothing may define one.
        gsub(/struct aiocb(64)? \*/, "", line)
        gsub(/struct timespec \*/, "", line)
        if (line ~ /(^|[^A-Za-z0-9_])(struct|union|enum|typedef)([^A-Za-z0-9_]|$)/) {
            complain("type definition")
        } else if (fname !~ /^aio_rs_[a-z0-9_]*$/ && index(ff, " " fname " ") == 0) {
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
