#!/bin/sh
# shellcheck disable=SC2015,SC2254  # `cond && pass || fail` (pass cannot fail); glob patterns on purpose
# shellcheck disable=SC2086  # $CC, $CXX, $PKG_CONFIG and $T may hold several words
# The install round trip (`make install-check`): install aio-rs into a staging directory, check
# what was installed, build and run a consumer through pkg-config (dynamically and statically),
# run a glibc-only AIO program under the installed aio-rs wrapper, then uninstall and check that
# nothing is left. A second install into a plain prefix with a multiarch libdir checks the
# relocatable paths (pkg-config without a sysroot, the wrapper's configured libdir).
#
# Expects the library to be built already (`make install-check` builds it first).
# Environment: MAKE, CC, CXX, PKG_CONFIG (defaults: make, cc, c++, pkg-config).

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$repo/tests/install
MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-c++}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
# Every run of a test program is bounded, so a hang fails instead of stalling.
T="timeout 60"

# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"
# ok NAME COMMAND...: the command must succeed (its output is shown when it does not).
ok() {
    name=$1
    shift
    if out=$("$@" 2>&1); then
        pass
    else
        fail "$name: '$*' failed:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
    fi
}
finish() {
    printf 'install-test: %d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
}
# Stops at once: later steps depend on this one.
abort() {
    fail "$*"
    finish
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-install-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
export TMPDIR="$tmp"

mk() {
    $MAKE -s --no-print-directory -C "$repo" LDCONFIG=true "$@"
}

version=$(mk print-version)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
patch=${rest#*.}
patch=${patch%%[-+]*}
realname=libaio_rs.so.$major.$minor.$patch
soname=libaio_rs.so.$major
echo "install-test: aio-rs $version"

# ==== 0. `make install` compiles nothing and needs no cargo ===========================================
# (`sudo make install`: root's PATH has no cargo.) With the release artifacts missing it stops
# with a clear message and installs nothing.
if out=$(env PATH=/usr/sbin:/usr/bin:/sbin:/bin $MAKE -s --no-print-directory -C "$repo" \
    LDCONFIG=true CARGO=false CARGO_TARGET_DIR="$tmp/no-build" install DESTDIR="$tmp/nothing" 2>&1); then
    fail "make install without a build succeeded"
else
    expect_match "make install without a build: message" "*does not exist: build first with 'make'*" "$out"
fi
expect_eq "make install without a build: nothing installed" "" "$(find "$tmp/nothing" ! -type d 2>/dev/null)"

# ==== 1. Staged install: DESTDIR + PREFIX =========================================================
destdir=$tmp/stage
prefix=/opt/aio-rs-install-test
root=$destdir$prefix
lib=$root/lib

# As `sudo make install` runs it: no cargo on PATH (CARGO=false would fail if called).
if ! env PATH=/usr/sbin:/usr/bin:/sbin:/bin $MAKE -s --no-print-directory -C "$repo" LDCONFIG=true \
    CARGO=false install DESTDIR="$destdir" PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    abort "make install DESTDIR=$destdir PREFIX=$prefix failed"
fi
pass

# Exactly the files announced, no more.
expected=$(mk print-installed-files PREFIX="$prefix" | sed "s|^|$destdir|" | sort)
actual=$(find "$destdir" ! -type d | sort)
expect_eq "installed file list" "$expected" "$actual"

# The library: real file with the full version, SONAME, symlink chain.
[ -f "$lib/$realname" ] && [ ! -L "$lib/$realname" ] && pass || fail "$lib/$realname is not a regular file"
expect_eq "symlink $soname" "$realname" "$(readlink "$lib/$soname" 2>/dev/null)"
expect_eq "symlink libaio_rs.so" "$soname" "$(readlink "$lib/libaio_rs.so" 2>/dev/null)"
expect_eq "SONAME" "$soname" \
    "$(LC_ALL=C readelf -d "$lib/$realname" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
[ -x "$lib/$realname" ] && pass || fail "$lib/$realname is not executable (0755)"
[ -f "$lib/libaio_rs.a" ] && pass || fail "libaio_rs.a not installed"
# The release artifacts, not cargo's output: the shared library is stripped.
case $(LC_ALL=C readelf -SW "$lib/$realname") in
*.debug_info*) fail "$lib/$realname still has debug information" ;;
*.gnu_debuglink*) pass ;;
*) fail "$lib/$realname has no .gnu_debuglink" ;;
esac

# The exported interface: the 17 POSIX AIO symbols and aio_rs_version, in both libraries.
defined_functions() {
    awk '$4 == "FUNC" && ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" { sub(/@.*/, "", $8); print $8 }'
}
dynsyms=$(LC_ALL=C readelf --dyn-syms -W "$lib/$realname" 2>/dev/null | defined_functions)
staticsyms=$(LC_ALL=C readelf -sW "$lib/libaio_rs.a" 2>/dev/null | defined_functions)
for sym in aio_read aio_read64 aio_write aio_write64 aio_fsync aio_fsync64 aio_error \
    aio_error64 aio_return aio_return64 aio_suspend aio_suspend64 aio_cancel aio_cancel64 \
    lio_listio lio_listio64 aio_init aio_rs_version; do
    printf '%s\n' "$dynsyms" | grep -qx "$sym" && pass || fail "$realname does not export $sym"
    printf '%s\n' "$staticsyms" | grep -qx "$sym" && pass || fail "libaio_rs.a does not define $sym"
done

# The header: version macros equal Cargo.toml's version; only aio-rs names; C and C++.
hdr=$root/include/aio_rs.h
macro() { sed -n "s/^#define $1 \\([0-9][0-9]*\\)\$/\\1/p" "$hdr"; }
expect_eq "AIO_RS_VERSION_MAJOR" "$major" "$(macro AIO_RS_VERSION_MAJOR)"
expect_eq "AIO_RS_VERSION_MINOR" "$minor" "$(macro AIO_RS_VERSION_MINOR)"
expect_eq "AIO_RS_VERSION_PATCH" "$patch" "$(macro AIO_RS_VERSION_PATCH)"
ok "header names" env CC="$CC" sh "$here/check-header-names.sh" "$hdr"
echo '#include <aio_rs.h>' >"$tmp/h.c"
for std in c99 c11 c17; do
    ok "header compiles as $std" $CC -std=$std -pedantic -Wall -Wextra -Werror -fsyntax-only \
        -I"$root/include" "$tmp/h.c"
done
ok "header compiles as C++ (g++ -fsyntax-only)" $CXX -std=c++11 -pedantic -Wall -Wextra -Werror \
    -fsyntax-only -I"$root/include" -x c++ "$tmp/h.c"
# Including it twice, and before <aio.h>, is harmless.
printf '#include <aio_rs.h>\n#include <aio_rs.h>\n#include <aio.h>\n' >"$tmp/h2.c"
ok "header include guard" $CC -Wall -Werror -fsyntax-only -I"$root/include" "$tmp/h2.c"

# pkg-config, looking only at the staged installation.
pc() {
    env PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_LIBDIR="$lib/pkgconfig" \
        PKG_CONFIG_SYSROOT_DIR="$destdir" $PKG_CONFIG "$@"
}
expect_eq "pkg-config --modversion" "$version" "$(pc --modversion aio_rs)"
expect_eq "pkg-config prefix" "$prefix" "$(pc --variable=prefix aio_rs | sed "s|^$destdir||")"
expect_eq "pkg-config --libs" "-L$lib -laio_rs" "$(pc --libs aio_rs | sed 's/ *$//')"
expect_eq "pkg-config --cflags" "-I$root/include" "$(pc --cflags aio_rs | sed 's/ *$//')"
expect_match "pkg-config --static --libs" "*-laio_rs*-lgcc_s*-lpthread*-ldl*" \
    "$(pc --static --libs aio_rs)"

# The consumer, linked dynamically.
cflags=$(pc --cflags aio_rs)
libs=$(pc --libs aio_rs)
# shellcheck disable=SC2086 # pkg-config output is a list of words
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer-dynamic" "$here/consumer.c" \
    $cflags $libs 2>"$tmp/cc.log"; then
    pass
    expect_match "dynamic consumer NEEDED" "*\[$soname\]*" "$(LC_ALL=C readelf -d "$tmp/consumer-dynamic")"
    out=$($T env LD_LIBRARY_PATH="$lib" "$tmp/consumer-dynamic" dynamic 2>"$tmp/run.err")
    status=$?
    expect_eq "dynamic consumer exit status" 0 "$status"
    [ "$status" -eq 0 ] || cat "$tmp/run.err" >&2
    expect_match "dynamic consumer version" "*aio_rs_version: $version
*" "$out"
    expect_match "dynamic consumer uses the installed library" "*aio_read from: $lib/libaio_rs.so*" "$out"
    expect_match "dynamic consumer ok" "*consumer: ok" "$out"
else
    cat "$tmp/cc.log" >&2
    fail "building the consumer with pkg-config --cflags --libs aio_rs"
fi

# The consumer, linked statically against libaio_rs.a (the C library stays dynamic).
slibs=$(pc --static --libs aio_rs | sed 's/\(^\| \)-laio_rs\( \|$\)/\1-Wl,-Bstatic -laio_rs -Wl,-Bdynamic\2/')
# shellcheck disable=SC2086
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer-static" "$here/consumer.c" \
    $cflags $slibs 2>"$tmp/cc.log"; then
    pass
    needed=$(LC_ALL=C readelf -d "$tmp/consumer-static" | grep NEEDED)
    case $needed in
    *libaio_rs*) fail "static consumer still needs libaio_rs.so: $needed" ;;
    *) pass ;;
    esac
    out=$($T env -u LD_LIBRARY_PATH -u LD_PRELOAD "$tmp/consumer-static" static 2>"$tmp/run.err")
    status=$?
    expect_eq "static consumer exit status" 0 "$status"
    [ "$status" -eq 0 ] || cat "$tmp/run.err" >&2
    expect_match "static consumer version" "*aio_rs_version: $version
*" "$out"
    expect_match "static consumer ok" "*consumer: ok" "$out"
else
    cat "$tmp/cc.log" >&2
    fail "building the consumer statically with: $slibs"
fi

# C++ can call into the library (extern "C" linkage).
printf '#include <aio_rs.h>\n#include <cstring>\nint main() { const char *v = aio_rs_version();\n  return v != nullptr && std::strlen(v) > 0 ? 0 : 1; }\n' >"$tmp/cxx.cc"
# shellcheck disable=SC2086
if $CXX -std=c++11 -Wall -Wextra -Werror -o "$tmp/cxx" "$tmp/cxx.cc" $cflags $libs 2>"$tmp/cc.log"; then
    ok "C++ consumer runs" $T env LD_LIBRARY_PATH="$lib" "$tmp/cxx"
else
    cat "$tmp/cc.log" >&2
    fail "building a C++ consumer"
fi

# The wrapper with a glibc-only program.
wrapper=$root/bin/aio-rs
if $CC -std=c11 -Wall -Wextra -Werror -o "$tmp/plain_aio" "$here/plain_aio.c" 2>"$tmp/cc.log"; then
    pass
    out=$($T env -u LD_PRELOAD "$tmp/plain_aio" 2>&1)
    expect_match "plain program alone uses glibc" "*aio_read from: */libc.so.6*aio_rs_version: none*plain_aio: ok" "$out"

    out=$($T env -u LD_PRELOAD -u AIO_RS_LIB "$wrapper" --verbose -- "$tmp/plain_aio" 2>"$tmp/run.err")
    status=$?
    expect_eq "wrapped plain program exit status" 0 "$status"
    [ "$status" -eq 0 ] || cat "$tmp/run.err" >&2
    expect_match "wrapped plain program uses aio-rs" "*aio_read from: $lib/libaio_rs.so*" "$out"
    expect_match "wrapped plain program sees aio_rs_version" "*aio_rs_version: $version
*" "$out"
    expect_match "wrapped plain program ok" "*plain_aio: ok" "$out"
    expect_match "wrapper reports the preload" "*aio-rs: wrapper: LD_PRELOAD=$lib/$soname*" \
        "$(cat "$tmp/run.err")"
    # --verbose makes the library itself say something on stderr.
    library_said=$(grep -v '^aio-rs: wrapper:' "$tmp/run.err")
    [ -n "$library_said" ] && pass || fail "AIO_RS_VERBOSE=1: the library printed nothing on stderr"

    for backend in auto uring kaio threads; do
        out=$($T env -u LD_PRELOAD -u AIO_RS_LIB "$wrapper" --backend "$backend" -- "$tmp/plain_aio" 2>"$tmp/run.err")
        status=$?
        expect_eq "--backend $backend exit status" 0 "$status"
        [ "$status" -eq 0 ] || cat "$tmp/run.err" >&2
        expect_match "--backend $backend round trip" "*aio_read from: $lib/libaio_rs.so*plain_aio: ok" "$out"
    done

    rm -f "$tmp/stats.txt"
    out=$($T env -u LD_PRELOAD -u AIO_RS_LIB "$wrapper" --stats-file "$tmp/stats.txt" -- "$tmp/plain_aio" 2>"$tmp/run.err")
    expect_eq "--stats-file exit status" 0 "$?"
    [ -s "$tmp/stats.txt" ] && pass || fail "--stats-file: $tmp/stats.txt is missing or empty"
    expect_match "--stats-file: the installed wrapper reads the counters" \
        "aio-rs $version stats: pid * exited*queue*submitted*workers*" "$(cat "$tmp/stats.txt")"
else
    cat "$tmp/cc.log" >&2
    fail "building tests/install/plain_aio.c"
fi
expect_eq "installed wrapper --version" "aio-rs $version
library: $lib/$soname" "$($T env -u AIO_RS_LIB "$wrapper" --version)"
expect_eq "wrapper: program not found" 127 \
    "$($T "$wrapper" -- "$tmp/no-such-program" >/dev/null 2>&1; echo $?)"

# The man pages are where man looks for them.
expect_eq "man finds aio_rs(7)" "$root/share/man/man7/aio_rs.7" "$(man -M "$root/share/man" -w 7 aio_rs 2>/dev/null)"
expect_eq "man finds aio-rs(1)" "$root/share/man/man1/aio-rs.1" "$(man -M "$root/share/man" -w 1 aio-rs 2>/dev/null)"
expect_eq "man finds aio_rs_version(3)" "$root/share/man/man3/aio_rs_version.3" \
    "$(man -M "$root/share/man" -w 3 aio_rs_version 2>/dev/null)"

# Uninstall: nothing but (empty) directories is left.
if mk uninstall DESTDIR="$destdir" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1; then
    pass
else
    cat "$tmp/uninstall.log" >&2
    fail "make uninstall DESTDIR=$destdir PREFIX=$prefix failed"
fi
expect_eq "files left after uninstall" "" "$(find "$destdir" ! -type d)"
# Uninstalling again is harmless.
ok "second uninstall" mk uninstall DESTDIR="$destdir" PREFIX="$prefix"

# ==== 2. Direct install into a prefix, multiarch libdir ===========================================
prefix2=$tmp/prefix
libdir2=$prefix2/lib/x86_64-linux-gnu
if mk install PREFIX="$prefix2" LIBDIR="$libdir2" >"$tmp/install2.log" 2>&1; then
    pass
    pc2() { env PKG_CONFIG_PATH="$libdir2/pkgconfig" PKG_CONFIG_LIBDIR="$libdir2/pkgconfig" $PKG_CONFIG "$@"; }
    expect_eq "multiarch: pkg-config libdir" "$libdir2" "$(pc2 --variable=libdir aio_rs)"
    expect_eq "multiarch: .pc libdir line" "libdir=\${exec_prefix}/lib/x86_64-linux-gnu" \
        "$(grep '^libdir=' "$libdir2/pkgconfig/aio_rs.pc")"
    # shellcheck disable=SC2086
    flags2=$(pc2 --cflags --libs aio_rs)
    if $CC -std=c11 -o "$tmp/consumer2" "$here/consumer.c" $flags2 \
        -Wl,-rpath,"$libdir2" 2>"$tmp/cc.log"; then
        out=$($T env -u LD_LIBRARY_PATH "$tmp/consumer2" dynamic 2>&1)
        expect_match "multiarch: consumer with rpath" "*aio_read from: $libdir2/libaio_rs.so*consumer: ok" "$out"
    else
        cat "$tmp/cc.log" >&2
        fail "multiarch: building the consumer"
    fi
    # bin/../lib does not hold the library here: the wrapper uses its configured libdir.
    out=$($T env -u LD_PRELOAD -u AIO_RS_LIB "$prefix2/bin/aio-rs" -- "$tmp/plain_aio" 2>&1)
    expect_match "multiarch: wrapper finds the configured libdir" \
        "*aio_read from: $libdir2/libaio_rs.so*plain_aio: ok" "$out"
    ok "multiarch: uninstall" mk uninstall PREFIX="$prefix2" LIBDIR="$libdir2"
    expect_eq "multiarch: files left after uninstall" "" "$(find "$prefix2" ! -type d)"
else
    cat "$tmp/install2.log" >&2
    fail "make install PREFIX=$prefix2 LIBDIR=$libdir2 failed"
fi

# ==== 3. GNU directory names, and when ldconfig runs =============================================
# prefix, exec_prefix, bindir, libdir, includedir, mandir (and pkgconfigdir) as well as the
# upper-case names; a lower-case name given explicitly wins over its upper-case twin.
gnu=/opt/gnu-test
gnu_files=$(mk print-installed-files prefix=$gnu exec_prefix=$gnu/x bindir=$gnu/b \
    libdir=$gnu/l includedir=$gnu/i mandir=$gnu/m PREFIX=/ignored LIBDIR=/ignored)
expect_eq "GNU names: installed files" "$gnu/l/libaio_rs.so.$major.$minor.$patch
$gnu/l/$soname
$gnu/l/libaio_rs.so
$gnu/l/libaio_rs.a
$gnu/i/aio_rs.h
$gnu/l/pkgconfig/aio_rs.pc
$gnu/b/aio-rs
$gnu/m/man7/aio_rs.7
$gnu/m/man1/aio-rs.1
$gnu/m/man3/aio_rs_version.3" "$gnu_files"
expect_eq "exec_prefix: libdir and bindir follow it" "/e/lib/libaio_rs.a /e/bin/aio-rs" \
    "$(mk print-installed-files prefix=/p exec_prefix=/e | grep -e '\.a$' -e 'bin/aio-rs$' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "upper-case names still work" "/P/lib64/libaio_rs.a /P/share/man/man7/aio_rs.7" \
    "$(mk print-installed-files PREFIX=/P LIBDIR=/P/lib64 | grep -e '\.a$' -e 'man7' | tr '\n' ' ' | sed 's/ $//')"
stage3=$tmp/stage3
if mk install DESTDIR="$stage3" prefix=/usr exec_prefix=/usr libdir=/usr/lib/x86_64-linux-gnu \
    >"$tmp/install3.log" 2>&1; then
    pc3=$stage3/usr/lib/x86_64-linux-gnu/pkgconfig/aio_rs.pc
    expect_eq "GNU names: .pc directories" "prefix=/usr
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib/x86_64-linux-gnu
includedir=\${prefix}/include" "$(sed -n '/^[a-z_]*=/p' "$pc3")"
    expect_eq "GNU names: wrapper's libdir" "configured_libdir='/usr/lib/x86_64-linux-gnu'" \
        "$(grep '^configured_libdir=' "$stage3/usr/bin/aio-rs")"
else
    cat "$tmp/install3.log" >&2
    fail "make install with GNU names failed"
fi
# exec_prefix apart from prefix: the .pc says so.
if mk install DESTDIR="$stage3" prefix=/opt/p exec_prefix=/opt/p/arch >"$tmp/install4.log" 2>&1; then
    expect_eq "exec_prefix in the .pc" "exec_prefix=\${prefix}/arch
libdir=\${exec_prefix}/lib" "$(grep -e '^exec_prefix=' -e '^libdir=' "$stage3/opt/p/arch/lib/pkgconfig/aio_rs.pc")"
else
    cat "$tmp/install4.log" >&2
    fail "make install with exec_prefix failed"
fi

# ldconfig: never with DESTDIR, never for a directory the loader does not search, and run (as
# root; otherwise a hint) for one it does. LOADER_DIRS stands in for ldconfig's own list.
p5=$tmp/p5
out=$(mk install prefix="$p5" LDCONFIG="echo RAN-LDCONFIG" 2>&1)
case $out in
*RAN-LDCONFIG*) fail "ldconfig ran for a private prefix: $out" ;;
*"is not a directory the dynamic loader searches"*"rpath"*"LD_LIBRARY_PATH"*"ld.so.conf.d"*) pass ;;
*) fail "private prefix: no note on how to find the library: [$out]" ;;
esac
out=$(mk install prefix="$p5" LDCONFIG="echo RAN-LDCONFIG" LOADER_DIRS="/nowhere:$p5/lib" 2>&1)
if [ "$(id -u)" = 0 ]; then
    expect_match "ldconfig runs for a loader directory" "*RAN-LDCONFIG*" "$out"
else
    expect_match "loader directory, not root: hint" "*sudo ldconfig*" "$out"
fi
out=$(mk install DESTDIR="$tmp/stage5" prefix="$p5" LDCONFIG="echo RAN-LDCONFIG" LOADER_DIRS="$p5/lib" 2>&1)
case $out in
*RAN-LDCONFIG*) fail "ldconfig ran with DESTDIR set" ;;
*) pass ;;
esac
out=$(mk uninstall prefix="$p5" LDCONFIG="echo RAN-LDCONFIG" LOADER_DIRS="$p5/lib" 2>&1)
if [ "$(id -u)" = 0 ]; then
    expect_match "ldconfig runs after uninstall from a loader directory" "*RAN-LDCONFIG*" "$out"
fi
expect_eq "p5: files left after uninstall" "" "$(find "$p5" ! -type d)"

finish
