#!/bin/sh
# shellcheck disable=SC2015,SC2254,SC2016  # `cond && pass || fail` (pass cannot fail); glob patterns, single-quoted sh -c scripts on purpose
# shellcheck disable=SC2086  # $CC, $CXX, $PKG_CONFIG and $T may hold several words
# Tests of the tools/aio-rs wrapper: option parsing, the environment it sets, LD_PRELOAD
# prepending without duplicates, library lookup, exit statuses and exec.
#
# Needs only sh, a C compiler (to make a stand-in shared library, so the real libaio_rs.so need
# not be built) and coreutils. Usage: tests/install/wrapper-test.sh [path/to/aio-rs]

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
wrapper=${1:-$repo/tools/aio-rs}
case $wrapper in
/*) ;;
*) wrapper=$(pwd -P)/$wrapper ;; # Some tests run from other directories.
esac
CC=${CC:-cc}
# Every run of the wrapper is bounded, so a hang fails instead of stalling.
T="timeout 30"

# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-wrapper-test.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# A stand-in library (an empty ELF shared object: ld.so preloads it without complaint).
mkdir -p "$tmp/prefix/bin" "$tmp/prefix/lib" "$tmp/elsewhere" "$tmp/spa ce"
echo 'int aio_rs_wrapper_test_stub;' >"$tmp/stub.c"
if ! $CC -shared -fPIC -o "$tmp/prefix/lib/libaio_rs.so.0" "$tmp/stub.c"; then
    echo "cannot build a stand-in shared library with $CC" >&2
    exit 1
fi
lib=$tmp/prefix/lib/libaio_rs.so.0
other=$tmp/elsewhere/libother.so
cp "$lib" "$other"
cp "$lib" "$tmp/elsewhere/libaio_rs.so"
xa=$tmp/elsewhere/a.so
cp "$lib" "$xa"

# Run the wrapper in a clean environment: run [VAR=VALUE]... -- [WRAPPER-ARGUMENT]...
# (the first "--" stands for the wrapper itself; later ones are passed on).
run() {
    n=$#
    replaced=
    while [ "$n" -gt 0 ]; do
        a=$1
        shift
        if [ -z "$replaced" ] && [ "$a" = "--" ]; then
            set -- "$@" "$wrapper"
            replaced=1
        else
            set -- "$@" "$a"
        fi
        n=$((n - 1))
    done
    $T env -i PATH="$PATH" HOME="$tmp" "$@"
}
# The value of VAR printed by `env` in OUTPUT, or <unset>.
getvar() {
    printf '%s\n' "$2" | awk -v v="$1" 'index($0, v "=") == 1 { print substr($0, length(v) + 2); f = 1 } END { if (!f) print "<unset>" }'
}

# --- LD_PRELOAD ------------------------------------------------------------------------------
out=$(run AIO_RS_LIB="$lib" -- env)
expect_eq "preload alone" "$lib" "$(getvar LD_PRELOAD "$out")"
expect_eq "no backend by default" "<unset>" "$(getvar AIO_RS_BACKEND "$out")"
expect_eq "no stats by default" "<unset>" "$(getvar AIO_RS_STATS "$out")"
expect_eq "no verbose by default" "<unset>" "$(getvar AIO_RS_VERBOSE "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$other" -- env)
expect_eq "prepend to one entry" "$lib:$other" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$xa:$other" -- env)
expect_eq "prepend to colon list" "$lib:$xa:$other" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$xa $other" -- env)
expect_eq "prepend to space list" "$lib:$xa:$other" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$xa $lib:$other" -- env)
expect_eq "no duplicate of ours" "$lib:$xa:$other" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$lib" -- env)
expect_eq "ours already alone" "$lib" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$tmp/elsewhere/libaio_rs.so::$xa:" -- env)
expect_eq "other aio-rs copy dropped, empty entries skipped" "$lib:$xa" \
    "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD= -- env)
expect_eq "empty LD_PRELOAD" "$lib" "$(getvar LD_PRELOAD "$out")"

out=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$tmp/elsewhere/*.so" -- env 2>/dev/null)
expect_eq "no globbing of entries" "$lib:$tmp/elsewhere/*.so" "$(getvar LD_PRELOAD "$out")"

# A relative AIO_RS_LIB is made absolute (the program may change directory).
out=$(cd "$tmp/prefix" && run AIO_RS_LIB=lib/libaio_rs.so.0 -- env)
expect_eq "relative AIO_RS_LIB made absolute" "$(cd "$tmp/prefix/lib" && pwd -P)/libaio_rs.so.0" \
    "$(getvar LD_PRELOAD "$out")"

# --- options ---------------------------------------------------------------------------------
for b in auto uring kaio threads; do
    out=$(run AIO_RS_LIB="$lib" -- --backend "$b" env)
    expect_eq "--backend $b" "$b" "$(getvar AIO_RS_BACKEND "$out")"
    out=$(run AIO_RS_LIB="$lib" -- --backend="$b" -- env)
    expect_eq "--backend=$b" "$b" "$(getvar AIO_RS_BACKEND "$out")"
done
out=$(run AIO_RS_LIB="$lib" AIO_RS_BACKEND=kaio -- env)
expect_eq "inherited AIO_RS_BACKEND kept" "kaio" "$(getvar AIO_RS_BACKEND "$out")"
out=$(run AIO_RS_LIB="$lib" AIO_RS_BACKEND=kaio -- --backend threads env)
expect_eq "--backend overrides the environment" "threads" "$(getvar AIO_RS_BACKEND "$out")"

err=$(run AIO_RS_LIB="$lib" -- --backend bogus env 2>&1 >/dev/null)
expect_eq "bad backend status" 125 "$(run AIO_RS_LIB="$lib" -- --backend bogus env >/dev/null 2>&1; echo $?)"
expect_match "bad backend message" "*unknown backend*bogus*" "$err"
expect_eq "--backend without argument" 125 "$(run AIO_RS_LIB="$lib" -- --backend >/dev/null 2>&1; echo $?)"

out=$(run AIO_RS_LIB="$lib" -- --stats env)
expect_eq "--stats" 1 "$(getvar AIO_RS_STATS "$out")"
expect_eq "--stats sets no file" "<unset>" "$(getvar AIO_RS_STATS_FILE "$out")"

out=$(run AIO_RS_LIB="$lib" -- --stats-file /x/stats.txt env)
expect_eq "--stats-file F" /x/stats.txt "$(getvar AIO_RS_STATS_FILE "$out")"
expect_eq "--stats-file implies --stats" 1 "$(getvar AIO_RS_STATS "$out")"
out=$(cd "$tmp" && run AIO_RS_LIB="$lib" -- --stats-file=rel/s.txt env)
expect_eq "--stats-file=relative made absolute" "$(cd "$tmp" && pwd -P)/rel/s.txt" \
    "$(getvar AIO_RS_STATS_FILE "$out")"

out=$(run AIO_RS_LIB="$lib" -- --verbose env 2>/dev/null)
expect_eq "--verbose" 1 "$(getvar AIO_RS_VERBOSE "$out")"
out=$(run AIO_RS_LIB="$lib" -- -v env 2>/dev/null)
expect_eq "-v" 1 "$(getvar AIO_RS_VERBOSE "$out")"
err=$(run AIO_RS_LIB="$lib" -- --verbose true 2>&1 >/dev/null)
expect_match "--verbose reports the preload" "*aio-rs: wrapper: LD_PRELOAD=$lib*" "$err"

out=$(run AIO_RS_LIB="$lib" -- --verbose --backend uring --stats -- env 2>/dev/null)
expect_eq "combined: verbose" 1 "$(getvar AIO_RS_VERBOSE "$out")"
expect_eq "combined: backend" uring "$(getvar AIO_RS_BACKEND "$out")"
expect_eq "combined: stats" 1 "$(getvar AIO_RS_STATS "$out")"

# Options after the program name belong to the program.
out=$(run AIO_RS_LIB="$lib" -- sh -c 'printf "%s|" "$@"; printf "%s\n" "${AIO_RS_VERBOSE:-unset}"' x --verbose "a b" "")
expect_eq "arguments after the program untouched" "--verbose|a b||unset" "$out"
out=$(run AIO_RS_LIB="$lib" -- -- sh -c 'printf "%s\n" "$1"' x --stats)
expect_eq "arguments after -- program untouched" "--stats" "$out"

expect_eq "unknown option" 125 "$(run AIO_RS_LIB="$lib" -- --bogus env >/dev/null 2>&1; echo $?)"
expect_eq "no program" 125 "$(run AIO_RS_LIB="$lib" -- >/dev/null 2>&1; echo $?)"
expect_eq "only options" 125 "$(run AIO_RS_LIB="$lib" -- --stats -- >/dev/null 2>&1; echo $?)"

out=$(run AIO_RS_LIB="$lib" -- --help)
expect_eq "--help status" 0 "$?"
expect_match "--help text" "Usage: aio-rs *--backend*--stats-file*--verbose*" "$out"
out=$(run AIO_RS_LIB="$lib" -- -h)
expect_match "-h text" "Usage: aio-rs *" "$out"

cargo_version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml" | head -n 1)
out=$(run AIO_RS_LIB="$lib" -- --version)
expect_eq "--version" "aio-rs $cargo_version
library: $lib" "$out"
out=$(run AIO_RS_LIB="$lib" -- -V | head -n 1)
expect_eq "-V" "aio-rs $cargo_version" "$out"

# --- program lookup, exit status, exec ---------------------------------------------------------
err=$(run AIO_RS_LIB="$lib" -- no-such-program-aio-rs 2>&1)
status=$(run AIO_RS_LIB="$lib" -- no-such-program-aio-rs >/dev/null 2>&1; echo $?)
expect_eq "missing program status" 127 "$status"
expect_match "missing program message" "*no-such-program-aio-rs*not found*" "$err"
expect_eq "missing program by path" 127 \
    "$(run AIO_RS_LIB="$lib" -- "$tmp/nothing/here" >/dev/null 2>&1; echo $?)"
printf 'not executable\n' >"$tmp/noexec"
expect_eq "program not executable" 126 \
    "$(run AIO_RS_LIB="$lib" -- "$tmp/noexec" >/dev/null 2>&1; echo $?)"
expect_eq "program is a directory" 126 \
    "$(run AIO_RS_LIB="$lib" -- "$tmp" >/dev/null 2>&1; echo $?)"

expect_eq "exit status passed through" 42 \
    "$(run AIO_RS_LIB="$lib" -- sh -c 'exit 42' >/dev/null 2>&1; echo $?)"
expect_eq "exit status 0" 0 "$(run AIO_RS_LIB="$lib" -- true >/dev/null 2>&1; echo $?)"
expect_eq "death by signal passed through" 143 \
    "$(run AIO_RS_LIB="$lib" -- sh -c 'kill -TERM $$' >/dev/null 2>&1; echo $?)"

# exec: the program runs in the wrapper's own process.
out=$($T env -i PATH="$PATH" AIO_RS_LIB="$lib" wr="$wrapper" sh -c 'echo $$; exec "$wr" sh -c "echo \$\$"')
first=$(printf '%s\n' "$out" | sed -n 1p)
second=$(printf '%s\n' "$out" | sed -n 2p)
expect_eq "the wrapper execs the program" "$first" "$second"

# stdin passes through.
expect_eq "stdin passed through" "hello" "$(echo hello | run AIO_RS_LIB="$lib" -- cat)"

# --- library lookup ----------------------------------------------------------------------------
expect_eq "missing AIO_RS_LIB" 125 \
    "$(run AIO_RS_LIB="$tmp/nothing.so" -- true >/dev/null 2>&1; echo $?)"
cp "$lib" "$tmp/spa ce/libaio_rs.so.0"
expect_eq "library path with a space refused" 125 \
    "$(run AIO_RS_LIB="$tmp/spa ce/libaio_rs.so.0" -- true >/dev/null 2>&1; echo $?)"
out=$(run AIO_RS_LIB=libaio_rs.so.0 -- env 2>/dev/null)
expect_eq "bare AIO_RS_LIB left to the loader" "libaio_rs.so.0" "$(getvar LD_PRELOAD "$out")"

# Installed layout: bin/aio-rs finds ../lib/libaio_rs.so.0, also when called through a symlink.
cp "$wrapper" "$tmp/prefix/bin/aio-rs"
chmod 755 "$tmp/prefix/bin/aio-rs"
ln -s "$tmp/prefix/bin/aio-rs" "$tmp/elsewhere/aio-rs"
real_lib=$(cd "$tmp/prefix/lib" && pwd -P)/libaio_rs.so.0
out=$($T env -i PATH="$PATH" "$tmp/prefix/bin/aio-rs" env)
expect_eq "installed layout" "$real_lib" "$(getvar LD_PRELOAD "$out")"
out=$($T env -i PATH="$PATH" "$tmp/elsewhere/aio-rs" env)
expect_eq "installed layout through a symlink" "$real_lib" "$(getvar LD_PRELOAD "$out")"
out=$($T env -i PATH="$tmp/prefix/bin:$PATH" sh -c 'cd / && aio-rs env')
expect_eq "installed layout found through PATH" "$real_lib" "$(getvar LD_PRELOAD "$out")"

# No library anywhere: a clear failure.
mkdir -p "$tmp/empty/bin"
cp "$wrapper" "$tmp/empty/bin/aio-rs"
err=$($T env -i PATH="$PATH" "$tmp/empty/bin/aio-rs" true 2>&1)
status=$?
expect_eq "no library status" 125 "$status"
expect_match "no library message" "*libaio_rs.so not found*" "$err"
out=$($T env -i PATH="$PATH" "$tmp/empty/bin/aio-rs" --version | sed -n 2p)
expect_eq "--version without a library" "library: not found" "$out"

# The preloaded stand-in really is loaded into the program (ld.so accepts the entry).
err=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$other" -- true 2>&1)
expect_eq "ld.so accepts the preload list" "" "$err"
if [ -r /proc/self/maps ]; then
    maps=$(run AIO_RS_LIB="$lib" LD_PRELOAD="$other" -- cat /proc/self/maps)
    expect_match "library mapped in the program" "*$real_lib*" "$maps"
    expect_match "other preload mapped in the program" "*libother.so*" "$maps"
fi

printf 'wrapper-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
