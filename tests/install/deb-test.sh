#!/bin/sh
# shellcheck disable=SC2015,SC2254  # `cond && pass || fail` (pass cannot fail); glob patterns on purpose
# shellcheck disable=SC2086  # $CC, $PKG_CONFIG and $T may hold several words
# The Debian packages `make deb` builds (`make deb-check`):
#   1. their contents, control fields, shlibs, symbols and trigger;
#   2. lintian accepts them without errors or warnings (skipped when lintian is not installed,
#      unless DEB_LINT is set, as in CI: then it is required);
#   3. unpacked (dpkg-deb -x) into a scratch root, a consumer builds with pkg-config from them,
#      dynamically and statically, and runs;
#   4. with DEB_INSTALL_TEST=1, as root (CI sets it): `apt-get install ./*.deb` installs them,
#      a consumer builds with pkg-config against the installed system and runs without any
#      LD_LIBRARY_PATH, the aio-rs wrapper serves a glibc-only program, the manual pages are
#      found; then the packages are purged and nothing of them is left. Skipped when libaio-rs0
#      or libaio-rs-dev is already installed (the test will not replace them).
#
# Usage: deb-test.sh DEB_DIR VERSION
# Environment: CC, PKG_CONFIG, DEB_LINT, DEB_INSTALL_TEST.

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$repo/tests/install
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
DEB_LINT=${DEB_LINT:-}
DEB_INSTALL_TEST=${DEB_INSTALL_TEST:-}
T="timeout 60"

debdir=$(cd "$1" && pwd -P) || exit 1
version=$2
deb_version=$(printf '%s' "$version" | sed 's/-/~/')-1
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
major=${version%%.*}
core=${version%%[-+]*}
realname=libaio_rs.so.$core
soname=libaio_rs.so.$major
rt_deb=$debdir/libaio-rs0_${deb_version}_$arch.deb
dev_deb=$debdir/libaio-rs-dev_${deb_version}_$arch.deb

finish() {
    printf 'deb-test: %d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
}
for f in "$rt_deb" "$dev_deb"; do
    if [ ! -f "$f" ]; then
        fail "$f does not exist (make deb)"
        finish
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-deb-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
installed_by_us=
cleanup() {
    if [ -n "$installed_by_us" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 \
            libaio-rs-dev libaio-rs0 >/dev/null 2>&1 || dpkg -P libaio-rs-dev libaio-rs0 >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TMPDIR="$tmp"

# ==== 1. Contents and control data =====================================================================
# Regular files and symlinks, without the directories.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 ($7 == "->" ? " -> " $8 : "") }' | LC_ALL=C sort; }
expect_eq "libaio-rs0 contents" "$(printf '%s\n' \
    "usr/lib/$ma/$realname" \
    "usr/lib/$ma/$soname -> $realname" \
    usr/share/doc/libaio-rs0/changelog.Debian.gz \
    usr/share/doc/libaio-rs0/copyright \
    usr/share/lintian/overrides/libaio-rs0 | LC_ALL=C sort)" "$(contents "$rt_deb")"
expect_eq "libaio-rs-dev contents" "$(printf '%s\n' \
    usr/bin/aio-rs \
    usr/include/aio_rs.h \
    "usr/lib/$ma/libaio_rs.a" \
    "usr/lib/$ma/libaio_rs.so -> $soname" \
    "usr/lib/$ma/pkgconfig/aio_rs.pc" \
    usr/share/doc/libaio-rs-dev/changelog.Debian.gz \
    usr/share/doc/libaio-rs-dev/copyright \
    usr/share/lintian/overrides/libaio-rs-dev \
    usr/share/man/man1/aio-rs.1.gz \
    usr/share/man/man3/aio_rs_version.3.gz \
    usr/share/man/man7/aio_rs.7.gz | LC_ALL=C sort)" "$(contents "$dev_deb")"
# Owner root, the library not executable (Debian Policy 8.1), the wrapper executable.
expect_eq "owners" "root/root" "$( (dpkg-deb -c "$rt_deb"; dpkg-deb -c "$dev_deb") | awk '{ print $2 }' | sort -u)"
expect_match "library mode 0644" "-rw-r--r-- *" "$(dpkg-deb -c "$rt_deb" | grep " ./usr/lib/$ma/$realname\$")"
expect_match "wrapper mode 0755" "-rwxr-xr-x *" "$(dpkg-deb -c "$dev_deb" | grep ' ./usr/bin/aio-rs$')"

field() { dpkg-deb -f "$1" "$2"; }
expect_eq "libaio-rs0 Version" "$deb_version" "$(field "$rt_deb" Version)"
expect_eq "libaio-rs0 Multi-Arch" "same" "$(field "$rt_deb" Multi-Arch)"
expect_eq "libaio-rs0 Section" "libs" "$(field "$rt_deb" Section)"
expect_match "libaio-rs0 Depends" "*libc6 (>= 2.*)*libgcc-s1*" "$(field "$rt_deb" Depends)"
expect_eq "libaio-rs-dev Section" "libdevel" "$(field "$dev_deb" Section)"
expect_match "libaio-rs-dev Depends" "libaio-rs0 (= $deb_version)*" "$(field "$dev_deb" Depends)"

mkdir -p "$tmp/control"
dpkg-deb -e "$rt_deb" "$tmp/control"
expect_eq "shlibs" "libaio_rs $major libaio-rs0 (>= $version)" "$(cat "$tmp/control/shlibs")"
expect_eq "symbols file" "$(cat "$repo/packaging/deb/libaio-rs0.symbols")" "$(cat "$tmp/control/symbols")"
expect_eq "ldconfig trigger" "activate-noawait ldconfig" "$(cat "$tmp/control/triggers")"
(cd "$tmp/control" && [ -s md5sums ]) && pass || fail "libaio-rs0 has no md5sums"

# ==== 2. lintian =================================================================================
if command -v lintian >/dev/null 2>&1; then
    if lintian --fail-on error,warning "$rt_deb" "$dev_deb" >"$tmp/lintian.log" 2>&1; then
        pass
    else
        sed 's/^/    /' "$tmp/lintian.log" >&2
        fail "lintian reports errors or warnings"
    fi
    grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/deb-test: lintian: /'
elif [ -n "$DEB_LINT" ]; then
    fail "lintian is not installed (make deps DEB_LINT=1)"
else
    echo "deb-test: SKIP lintian: not installed (make deps DEB_LINT=1 installs it)"
fi

# ==== 3. A consumer built from the unpacked packages ==================================================
root=$tmp/root
dpkg-deb -x "$rt_deb" "$root"
dpkg-deb -x "$dev_deb" "$root"
lib=$root/usr/lib/$ma
expect_eq "SONAME" "$soname" "$(LC_ALL=C readelf -d "$lib/$realname" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
case $(LC_ALL=C readelf -SW "$lib/$realname") in
*.debug_info*) fail "the packaged library is not stripped" ;;
*) pass ;;
esac
upc() { env PKG_CONFIG_LIBDIR="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" $PKG_CONFIG "$@"; }
expect_eq "unpacked: pkg-config --modversion" "$version" "$(upc --modversion aio_rs)"
expect_eq "unpacked: libdir" "$root/usr/lib/$ma" "$(upc --variable=libdir aio_rs)"
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer" "$here/consumer.c" \
    $(upc --cflags --libs aio_rs) 2>"$tmp/cc.log"; then
    out=$($T env LD_LIBRARY_PATH="$lib" "$tmp/consumer" dynamic 2>&1)
    expect_match "unpacked: dynamic consumer" "*aio_read from: $lib/libaio_rs.so*consumer: ok" "$out"
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "unpacked: building the consumer with pkg-config"
fi
slibs=$(upc --static --libs aio_rs | sed 's/\(^\| \)-laio_rs\( \|$\)/\1-Wl,-Bstatic -laio_rs -Wl,-Bdynamic\2/')
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer-static" "$here/consumer.c" \
    $(upc --cflags aio_rs) $slibs 2>"$tmp/cc.log"; then
    out=$($T env -u LD_LIBRARY_PATH "$tmp/consumer-static" static 2>&1)
    expect_match "unpacked: static consumer" "*consumer: ok" "$out"
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "unpacked: building the consumer statically"
fi

# ==== 4. apt-get install ./*.deb ==================================================================
if [ -z "$DEB_INSTALL_TEST" ]; then
    echo "deb-test: SKIP apt-get install: set DEB_INSTALL_TEST=1 (CI does; needs root)"
    finish
fi
if [ "$(id -u)" != 0 ]; then
    echo "deb-test: SKIP apt-get install: not root"
    finish
fi
for p in libaio-rs0 libaio-rs-dev; do
    if dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        echo "deb-test: SKIP apt-get install: $p is already installed on this machine"
        finish
    fi
done
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=120 "$rt_deb" "$dev_deb" >"$tmp/apt.log" 2>&1; then
    installed_by_us=1
    pass
else
    installed_by_us=1 # whatever got in is purged on exit
    sed 's/^/    /' "$tmp/apt.log" >&2
    fail "apt-get install ./libaio-rs0*.deb ./libaio-rs-dev*.deb failed"
    finish
fi
expect_eq "installed version" "$deb_version" "$(dpkg-query -W -f '${Version}' libaio-rs0)"
expect_eq "dpkg -S the library" "libaio-rs0:$arch: /usr/lib/$ma/$realname" "$(dpkg -S "/usr/lib/$ma/$realname" 2>&1)"
ldconfig -p | grep -q "$soname " && pass || fail "the loader's cache does not list $soname after installing"
# The system's pkg-config, no paths given.
expect_eq "installed: pkg-config --modversion" "$version" "$(env -u PKG_CONFIG_PATH $PKG_CONFIG --modversion aio_rs)"
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/sys-consumer" "$here/consumer.c" \
    $(env -u PKG_CONFIG_PATH $PKG_CONFIG --cflags --libs aio_rs) 2>"$tmp/cc.log"; then
    out=$($T env -u LD_LIBRARY_PATH -u LD_PRELOAD "$tmp/sys-consumer" dynamic 2>&1)
    expect_match "installed: consumer runs without LD_LIBRARY_PATH" "*aio_read from: /*/$soname*consumer: ok" "$out"
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "installed: building the consumer with pkg-config"
fi
slibs=$(env -u PKG_CONFIG_PATH $PKG_CONFIG --static --libs aio_rs | sed 's/\(^\| \)-laio_rs\( \|$\)/\1-Wl,-Bstatic -laio_rs -Wl,-Bdynamic\2/')
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/sys-consumer-static" "$here/consumer.c" $slibs 2>"$tmp/cc.log"; then
    out=$($T "$tmp/sys-consumer-static" static 2>&1)
    expect_match "installed: static consumer" "*consumer: ok" "$out"
else
    sed 's/^/    /' "$tmp/cc.log" >&2
    fail "installed: building the static consumer"
fi
# The wrapper, from PATH, with a program that knows only glibc.
if $CC -std=c11 -o "$tmp/plain_aio" "$here/plain_aio.c" 2>"$tmp/cc.log"; then
    out=$($T env -u LD_PRELOAD -u AIO_RS_LIB aio-rs -- "$tmp/plain_aio" 2>&1)
    expect_match "installed: aio-rs wrapper" "*aio_read from: /usr/lib/$ma/$soname*plain_aio: ok" "$out"
else
    fail "building plain_aio.c"
fi
expect_eq "installed: aio-rs --version" "aio-rs $version
library: /usr/lib/$ma/$soname" "$(env -u AIO_RS_LIB aio-rs --version)"
# (Minimal images tell dpkg not to unpack manual pages at all.)
if grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    echo "deb-test: SKIP installed manual pages: dpkg is configured to exclude /usr/share/man"
else
    for page in 1:aio-rs 3:aio_rs_version 7:aio_rs; do
        expect_match "installed: man ${page#*:}(${page%%:*})" "/usr/share/man/man${page%%:*}/${page#*:}.${page%%:*}.gz" \
            "$(man -w "${page%%:*}" "${page#*:}" 2>/dev/null)"
    done
fi

# Purge: nothing left.
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 libaio-rs-dev libaio-rs0 \
    >"$tmp/apt.log" 2>&1; then
    installed_by_us=
    pass
else
    sed 's/^/    /' "$tmp/apt.log" >&2
    fail "apt-get purge libaio-rs-dev libaio-rs0 failed"
fi
left=$(ls "/usr/lib/$ma"/libaio_rs* /usr/include/aio_rs.h /usr/bin/aio-rs 2>/dev/null)
expect_eq "files left after purge" "" "$left"
if ldconfig -p | grep -q "$soname "; then
    fail "the loader's cache still lists $soname after the purge"
else
    pass
fi

finish
