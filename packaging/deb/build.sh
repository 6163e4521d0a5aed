#!/bin/sh
# Builds the Debian packages with dpkg-deb from the release artifacts that `make` made (run by
# `make deb`; no debhelper, so nothing beyond dpkg-dev is needed):
#
#   libaio-rs0     the shared library libaio_rs.so.0.X.Y and its SONAME link libaio_rs.so.0;
#                  shlibs, symbols (packaging/deb/libaio-rs0.symbols) and an ldconfig trigger
#   libaio-rs-dev  aio_rs.h, libaio_rs.a, the libaio_rs.so link, aio_rs.pc, the manual pages and
#                  the aio-rs wrapper
#
# The wrapper is in libaio-rs-dev, not in the runtime package: Debian Policy 8.2 wants a shared
# library package to hold nothing but the library, so that libaio-rs0 and a later libaio-rs1 can
# be installed side by side (both would ship /usr/bin/aio-rs). The development package exists
# once per source and depends on the exact libaio-rs0 it was built with, whose library the
# wrapper preloads.
#
# The files are laid out by `make install DESTDIR=... prefix=/usr libdir=/usr/lib/MULTIARCH`,
# so the packages hold what `make install` installs, in Debian's directories.
#
# Usage: build.sh OUTDIR VERSION
# Environment: MAKE (default make), DEB_MAINTAINER, DEB_REVISION (default 1),
# SOURCE_DATE_EPOCH (default: the time of the last commit, else now).

set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 OUTDIR VERSION" >&2
    exit 2
fi
out=$1
version=$2
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
MAKE=${MAKE:-make}
maintainer=${DEB_MAINTAINER:-aio-rs developers <aio-rs@users.noreply.github.com>}
revision=${DEB_REVISION:-1}

die() {
    printf 'deb: error: %s\n' "$*" >&2
    exit 1
}
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install dpkg-dev)"
done

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# A Cargo pre-release (0.2.0-rc.1) sorts before its release in Debian only with a tilde.
deb_version=$(printf '%s' "$version" | sed 's/-/~/')-$revision
major=${version%%.*}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null) || SOURCE_DATE_EPOCH=
    [ -n "$SOURCE_DATE_EPOCH" ] || SOURCE_DATE_EPOCH=$(date +%s)
fi
export SOURCE_DATE_EPOCH

mkdir -p "$out"
out=$(cd "$out" && pwd -P)
work=$(mktemp -d "$out/.deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Files 0644 and directories 0755 whatever the caller's umask.
umask 022

# ---- stage what `make install` installs ------------------------------------------------------------
stage=$work/stage
libdir=/usr/lib/$multiarch
$MAKE -s --no-print-directory -C "$repo" install DESTDIR="$stage" prefix=/usr libdir="$libdir" \
    LDCONFIG=true >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "make install into the staging directory failed"; }
realname=$(cd "$stage$libdir" && ls libaio_rs.so.*.*.*)
soname=libaio_rs.so.$major
[ -f "$stage$libdir/$realname" ] || die "no shared library staged"

# ---- split into the two packages ------------------------------------------------------------
rt=$work/libaio-rs0
dev=$work/libaio-rs-dev
move() { # move PACKAGE_ROOT PATH...
    root=$1
    shift
    for p in "$@"; do
        mkdir -p "$root$(dirname "$p")"
        mv "$stage$p" "$root$p"
    done
}
move "$rt" "$libdir/$realname" "$libdir/$soname"
move "$dev" "$libdir/libaio_rs.so" "$libdir/libaio_rs.a" "$libdir/pkgconfig/aio_rs.pc" \
    /usr/include/aio_rs.h /usr/bin/aio-rs
for page in "$stage"/usr/share/man/man*/*; do
    move "$dev" "${page#"$stage"}"
done
left=$(cd "$stage" && find . ! -type d)
[ -z "$left" ] || die "staged files in neither package: $left"

# Debian wants a shared library 0644, and compressed manual pages (gzip -n: no name or time).
chmod 0644 "$rt$libdir/$realname"
find "$dev/usr/share/man" -type f -exec gzip -9n {} +

# /usr/share/doc/PACKAGE: copyright and changelog.
changelog_date=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a, %d %b %Y %H:%M:%S +0000')
for pkg in "$rt" "$dev"; do
    name=${pkg##*/}
    doc=$pkg/usr/share/doc/$name
    mkdir -p "$doc"
    cp "$here/copyright" "$doc/copyright"
    {
        printf 'aio-rs (%s) unstable; urgency=medium\n\n' "$deb_version"
        printf '  * Built from the aio-rs source tree, version %s, by make deb.\n\n' "$version"
        printf ' -- %s  %s\n' "$maintainer" "$changelog_date"
    } >"$doc/changelog.Debian"
    gzip -9n "$doc/changelog.Debian"
done

# Built outside Debian: there is no ITP bug for the first changelog entry to close.
for pkg in "$rt" "$dev"; do
    name=${pkg##*/}
    mkdir -p "$pkg/usr/share/lintian/overrides"
    printf '# Built by make deb from the aio-rs sources, not uploaded to Debian: no ITP bug to close.\n%s: initial-upload-closes-no-bugs\n' \
        "$name" >"$pkg/usr/share/lintian/overrides/$name"
done

# ---- control files ----------------------------------------------------------------------------------
# The runtime package's dependencies, from the library's own needs.
mkdir -p "$work/shlibdeps/debian"
printf 'Source: aio-rs\n\nPackage: libaio-rs0\nArchitecture: any\n' >"$work/shlibdeps/debian/control"
depends=$(cd "$work/shlibdeps" && dpkg-shlibdeps -O -e"$rt$libdir/$realname" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies for $realname"

installed_size() { du -s -k --apparent-size "$1" --exclude=DEBIAN | cut -f1; }
control() { # control TEMPLATE PACKAGE_ROOT
    mkdir -p "$2/DEBIAN"
    sed -e "s|@DEB_VERSION@|$deb_version|g" -e "s|@ARCH@|$arch|g" \
        -e "s|@MAINTAINER@|$maintainer|g" -e "s|@DEPENDS@|$depends|g" \
        -e "s|@INSTALLED_SIZE@|$(installed_size "$2")|g" "$1" >"$2/DEBIAN/control"
}
control "$here/libaio-rs0.control.in" "$rt"
control "$here/libaio-rs-dev.control.in" "$dev"

# The runtime package tells dpkg-shlibdeps of packages built against it what to depend on.
printf 'libaio_rs %s libaio-rs0 (>= %s)\n' "$major" "$version" >"$rt/DEBIAN/shlibs"
cp "$here/libaio-rs0.symbols" "$rt/DEBIAN/symbols"
grep -q "^$soname libaio-rs0 " "$rt/DEBIAN/symbols" || die "libaio-rs0.symbols is not for $soname"
# A new library in the loader's directories: refresh its cache once, after the whole dpkg run.
printf 'activate-noawait ldconfig\n' >"$rt/DEBIAN/triggers"

for pkg in "$rt" "$dev"; do
    (cd "$pkg" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
    chmod 0644 "$pkg"/DEBIAN/*
    find "$pkg" -type d -exec chmod 0755 {} +
    name=${pkg##*/}
    # Time stamps from SOURCE_DATE_EPOCH, owner root: the same input gives the same package.
    find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$pkg" "$work/${name}_${deb_version}_$arch.deb" >/dev/null
done

for f in "$work"/*.deb; do
    mv -f "$f" "$out/"
    echo "deb: $out/${f##*/}"
done
