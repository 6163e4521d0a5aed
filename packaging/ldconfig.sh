#!/bin/sh
# After `make install` / `make uninstall` without DESTDIR: refresh the dynamic loader's cache,
# but only when LIBDIR is one of the directories the loader searches by itself (those ldconfig
# scans: its built-in ones and /etc/ld.so.conf). For any other directory a cache update would be
# useless (and a system-wide side effect of installing into a private prefix), so instead say
# how programs will find the library there.
#
# Usage: ldconfig.sh install|uninstall LIBDIR
# Environment: LDCONFIG (the command run to refresh the cache), LOADER_DIRS (the loader's
# directories, separated by spaces or colons; empty: ask `ldconfig -v -N -X`).

set -u

mode=$1
libdir=$2
LDCONFIG=${LDCONFIG:-ldconfig}
LOADER_DIRS=${LOADER_DIRS:-}

# Compare real paths: /lib and /usr/lib are one directory on a merged-/usr system, and ldconfig
# lists such a directory only once.
real_libdir=$(cd "$libdir" 2>/dev/null && pwd -P) || exit 0

if [ -z "$LOADER_DIRS" ]; then
    list=$(command -v ldconfig 2>/dev/null) || list=/sbin/ldconfig
    # -N: do not rebuild the cache, -X: do not update links; -v lists each directory as "DIR: ...".
    LOADER_DIRS=$("$list" -v -N -X 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p')
fi

searched=
old_ifs=$IFS
IFS=' :
'
for dir in $LOADER_DIRS; do
    real=$(cd "$dir" 2>/dev/null && pwd -P) || continue
    if [ "$real" = "$real_libdir" ]; then
        searched=1
        break
    fi
done
IFS=$old_ifs

if [ -n "$searched" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "$LDCONFIG"
        $LDCONFIG || echo "warning: '$LDCONFIG' failed; run it by hand" >&2
    else
        echo "note: run 'sudo ldconfig' so that the dynamic loader's cache sees $libdir's changes"
    fi
elif [ "$mode" = install ]; then
    cat <<EOF
note: $libdir is not a directory the dynamic loader searches by itself, so ldconfig was not run.
  A program linked with -laio_rs finds libaio_rs.so.0 there only if you build it with
  -Wl,-rpath,$libdir, run it with LD_PRELOAD or LD_LIBRARY_PATH=$libdir, or list $libdir
  in a file in /etc/ld.so.conf.d/ and run ldconfig (see "Custom prefixes" in README.md).
  The aio-rs wrapper in this prefix finds the library by itself.
EOF
fi
exit 0
