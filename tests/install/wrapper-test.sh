#!/bin/sh
# shellcheck disable=SC2015,SC2254,SC2016  # `cond && pass || fail` (pass cannot fail); glob patterns, single-quoted sh -c scripts on purpose
# shellcheck disable=SC2086  # $CC, $CXX, $PKG_CONFIG and $T may hold several words
# Tests of the tools/aio-rs wrapper: option parsing, the environment it sets, LD_PRELOAD
# prepending without duplicates, library lookup, exit statuses and exec; then, with the real
# library, the stats: `aio-rs --stats` prints the counters of every process of a run, per engine,
# however each ended (exit, _exit, abort, SIGKILL), `--stats-file` appends them to a file, the
# aio-rs(1) fio example works (fio with several jobs, when fio is installed), and `aio-rs stats
# PID` reads a running or ended process's counters.
#
# Needs sh, a C compiler (to make a stand-in shared library for the first part) and coreutils.
# Usage: tests/install/wrapper-test.sh [path/to/aio-rs [path/to/libaio_rs.so]]; without the
# library (default: target/release/libaio_rs.so, or under CARGO_TARGET_DIR) the stats part is
# skipped, and says so.

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
wrapper=${1:-$repo/tools/aio-rs}
case $wrapper in
/*) ;;
*) wrapper=$(pwd -P)/$wrapper ;; # Some tests run from other directories.
esac
real_so=${2:-${CARGO_TARGET_DIR:-$repo/target}/release/libaio_rs.so}
case $real_so in
/*) ;;
*) real_so=$(pwd -P)/$real_so ;;
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

out=$(run AIO_RS_LIB="$lib" -- --stats env 2>/dev/null)
expect_eq "--stats" 1 "$(getvar AIO_RS_STATS "$out")"
expect_eq "--stats sets no file" "<unset>" "$(getvar AIO_RS_STATS_FILE "$out")"
expect_match "--stats: a directory for the run" "*/aio-rs-run.*" "$(getvar AIO_RS_STATS_DIR "$out")"
out=$(run AIO_RS_LIB="$lib" -- --stats sh -c 'test -d "$AIO_RS_STATS_DIR" && test -O "$AIO_RS_STATS_DIR" && echo yes' 2>/dev/null)
expect_eq "--stats: the directory exists and is ours" yes "$out"
out=$(run AIO_RS_LIB="$lib" AIO_RS_STATS=1 -- env 2>/dev/null)
expect_match "AIO_RS_STATS in the environment counts as --stats" "*/aio-rs-run.*" \
    "$(getvar AIO_RS_STATS_DIR "$out")"
out=$(run AIO_RS_LIB="$lib" AIO_RS_STATS=0 -- env 2>/dev/null)
expect_eq "AIO_RS_STATS=0 is no --stats" "<unset>" "$(getvar AIO_RS_STATS_DIR "$out")"

out=$(run AIO_RS_LIB="$lib" -- --stats-file /x/stats.txt env 2>/dev/null)
expect_eq "--stats-file F" /x/stats.txt "$(getvar AIO_RS_STATS_FILE "$out")"
expect_eq "--stats-file implies --stats" 1 "$(getvar AIO_RS_STATS "$out")"
out=$(cd "$tmp" && run AIO_RS_LIB="$lib" -- --stats-file=rel/s.txt env 2>/dev/null)
expect_eq "--stats-file=relative made absolute" "$(cd "$tmp" && pwd -P)/rel/s.txt" \
    "$(getvar AIO_RS_STATS_FILE "$out")"

out=$(run AIO_RS_LIB="$lib" -- --verbose env 2>/dev/null)
expect_eq "--verbose" 1 "$(getvar AIO_RS_VERBOSE "$out")"
out=$(run AIO_RS_LIB="$lib" -- -v env 2>/dev/null)
expect_eq "-v" 1 "$(getvar AIO_RS_VERBOSE "$out")"
err=$(run AIO_RS_LIB="$lib" -- --verbose true 2>&1 >/dev/null)
expect_match "--verbose reports the preload" "*aio-rs: wrapper: LD_PRELOAD=$lib*" "$err"

out=$(run AIO_RS_LIB="$lib" -- --verbose --backend uring --stats -- env 2>/dev/null)
err=$(run AIO_RS_LIB="$lib" -- --verbose --stats true 2>&1 >/dev/null)
expect_match "--verbose --stats names the directory" "*aio-rs: wrapper: counters of the run in */aio-rs-run.*" "$err"
rundir=$(printf '%s\n' "$err" | sed -n 's/.*counters of the run in //p')
[ -n "$rundir" ] && [ ! -e "$rundir" ] && pass || fail "--stats left its directory $rundir"
expect_match "--stats: a run without AIO says so" "*aio-rs: stats: no process of the run used AIO*" "$err"
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
expect_eq "stats: not a PID" 125 "$(run AIO_RS_LIB="$lib" -- stats 12x >/dev/null 2>&1; echo $?)"
expect_eq "stats: unknown option" 125 "$(run AIO_RS_LIB="$lib" -- stats --bogus >/dev/null 2>&1; echo $?)"
expect_eq "-- stats runs a program called stats" 127 \
    "$(run AIO_RS_LIB="$lib" -- -- stats >/dev/null 2>&1; echo $?)"

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
expect_eq "exit status passed through with --stats" 42 \
    "$(run AIO_RS_LIB="$lib" -- --stats sh -c 'exit 42' >/dev/null 2>&1; echo $?)"
expect_eq "death by signal with --stats: 128 + the signal" 137 \
    "$(run AIO_RS_LIB="$lib" -- --stats sh -c 'kill -KILL $$' >/dev/null 2>&1; echo $?)"
expect_eq "stdin passed through with --stats" "hello" "$(echo hello | run AIO_RS_LIB="$lib" -- --stats cat 2>/dev/null)"
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

# --- stats, with the real library ---------------------------------------------------------------
if [ ! -f "$real_so" ]; then
    echo "SKIP: the stats tests: $real_so is not built (make wrapper-test builds it)"
    printf 'wrapper-test: %d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
fi
if ! $CC -O2 -o "$tmp/stats_children" "$repo/tests/install/stats_children.c" -lrt; then
    echo "cannot build tests/install/stats_children.c with $CC" >&2
    exit 1
fi
kids=$tmp/stats_children
# A stats report in one line per table: "PID STATE ring=yes|no COLUMN=SUM..." (each column but the
# peak summed over the table's queue rows; STATE is exited, running or ended).
summarize() {
    awk '
    function flush(   i, line) {
        if (!have) return
        line = pid " " st " ring=" ring
        for (i = 2; i < nf - 1; i++) { line = line " " name[i] "=" (sum[name[i]] + 0); sum[name[i]] = 0 }
        print line
        have = 0
    }
    /^aio-rs .* stats: pid / {
        flush(); have = 1; pid = $5; ring = "no"
        st = $0 ~ /, exited$/ ? "exited" : $0 ~ /, running$/ ? "running" : "ended"
        next
    }
    $1 == "queue" { nf = NF; for (i = 1; i <= NF; i++) name[i] = $i; next }
    have && $1 ~ /^[0-9]+$/ {
        for (i = 2; i < nf - 1; i++) sum[name[i]] += $i
        if ($nf ~ /io_uring/) ring = "yes"
    }
    END { flush() }' "$@"
}
# expect_tables NAME SUMMARY COUNT STATE READS BACKEND: COUNT tables, each of a process in STATE
# (a case pattern) that made READS reads and one request that failed at submission, the reads
# served where BACKEND sends them (auto: on the caller's thread, since the file is in the page
# cache; uring: io_uring if the queue had a ring, else the workers; threads and kaio, for a
# buffered file: the workers).
expect_tables() {
    expect_eq "$1: tables" "$3" "$(printf '%s\n' "$2" | grep -c .)"
    while read -r pid st ring cols; do
        case $6:$ring in
        auto:*) served="io_uring=0 kaio=0 workers=0 caller=$5" ;;
        uring:ring=yes) served="io_uring=$5 kaio=0 workers=0 caller=0" ;;
        *) served="io_uring=0 kaio=0 workers=$5 caller=0" ;;
        esac
        expect_match "$1: pid $pid state" "$4" "$st"
        expect_eq "$1: pid $pid" "submitted=$(($5 + 1)) completed=$(($5 + 1)) $served at-submit=1 unissued=0 cancelled=0 fallbacks=0" "$cols"
    done <<EOF_TABLES
$2
EOF_TABLES
}
srun() {
    $T env -i PATH="$PATH" HOME="$tmp" AIO_RS_LIB="$real_so" "$@"
}
me_uid=$(id -u)

for how in _exit exit abort kill; do
    case $how in
    exit) state=exited ;;
    *) state=ended ;;
    esac
    out=$(srun "$wrapper" --stats -- "$kids" 3 5 "$how" 2>&1)
    expect_tables "--stats, 3 children that $how" "$(printf '%s\n' "$out" | summarize)" 3 "$state" 5 auto
done
out=$(srun "$wrapper" --stats --backend threads -- "$kids" 2 7 _exit 2>&1)
expect_tables "--stats --backend threads" "$(printf '%s\n' "$out" | summarize)" 2 ended 7 threads
out=$(srun "$wrapper" --stats -- "$kids" 0 4 kill 2>&1)
expect_tables "--stats, the program itself killed" "$(printf '%s\n' "$out" | summarize)" 1 ended 4 auto
expect_eq "--stats, the program killed: its status" 137 "$(srun "$wrapper" --stats -- "$kids" 0 1 kill >/dev/null 2>&1; echo $?)"

# --stats-file: appended, nothing on stderr; the tables of each run follow each other.
sf=$tmp/stats-out/run.txt
mkdir -p "$tmp/stats-out"
err=$(cd "$tmp/stats-out" && srun "$wrapper" --stats-file=run.txt -- "$kids" 2 3 _exit 2>&1)
expect_eq "--stats-file: nothing on stderr" "" "$err"
srun "$wrapper" --stats-file "$sf" -- "$kids" 1 3 exit 2>/dev/null
expect_tables "--stats-file, two runs appended" "$(summarize "$sf")" 3 '*' 3 auto
expect_eq "--stats-file: the first run's" 2 "$(summarize "$sf" | grep -c ' ended ')"
ln -s "$sf" "$tmp/stats-out/link.txt"
err=$(srun "$wrapper" --stats-file "$tmp/stats-out/link.txt" -- "$kids" 1 2 _exit 2>&1)
expect_match "--stats-file through a symbolic link refused" "*cannot open the stats file*aio-rs 0*stats: pid*" "$err"
expect_eq "--stats-file through a symbolic link: nothing written" 3 "$(summarize "$sf" | grep -c .)"
err=$(srun "$wrapper" --verbose --stats-file "$tmp/no-such-dir/s.txt" -- "$kids" 1 2 _exit 2>&1)
expect_match "--stats-file that cannot be opened: the report on stderr" "*cannot open the stats file*aio-rs 0*stats: pid*" "$err"
rundir=$(printf '%s\n' "$err" | sed -n 's/.*counters of the run in //p')
[ -n "$rundir" ] && [ ! -e "$rundir" ] && pass || fail "--stats-file that cannot be opened: $rundir left"

# The fio example of aio-rs(1), as the manual page has it: its job file has several jobs (fio
# forks a worker process for each, which leaves with _exit), run under two backends with
# --stats-file; each job's counters, per engine.
if command -v fio >/dev/null 2>&1; then
    mkdir -p "$tmp/fio"
    sed -n '/^\$ \\fBcat job\.fio\\fP$/,/^\$ \\fBaio/p' "$repo/man/aio-rs.1" | sed '1d;$d' >"$tmp/fio/job.fio"
    jobs=$(grep -c '^\[' "$tmp/fio/job.fio")
    njobs=$(sed -n 's/^numjobs=//p' "$tmp/fio/job.fio")
    expect_eq "the aio-rs(1) fio example has several job processes" 3 "$((jobs - 1 + ${njobs:-1} - 1))"
    for b in threads uring; do
        (cd "$tmp/fio" && srun "$wrapper" --backend "$b" --stats-file="$b.txt" -- fio job.fio >/dev/null) ||
            fail "fio under aio-rs --backend $b failed"
        sum=$(summarize "$tmp/fio/$b.txt")
        expect_eq "fio --backend $b: one table per job" 3 "$(printf '%s\n' "$sum" | grep -c .)"
        # Every request of each job (16 MiB in 4 KiB requests) served by the engine asked for.
        bad=$(printf '%s\n' "$sum" | awk -v b="$b" '{
            for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            eng = (b == "threads" || $3 == "ring=no") ? v["workers"] : v["io_uring"]
            if (v["completed"] != v["submitted"] || v["submitted"] < 4096 || eng != v["completed"] || v["at-submit"] != 0) print
        }')
        expect_eq "fio --backend $b: every request of each job served by that engine" "" "$bad"
    done
else
    echo "SKIP: the fio example (fio is not installed; make deps installs it)"
fi

# aio-rs stats PID: a running process's counters (read from outside), which are those its exit
# handler prints (both tables, but for the first line); the file stays while it runs and is
# removed at exit.
exit_report=$(srun env AIO_RS_STATS=1 LD_PRELOAD="$real_so" "$kids" 0 6 exit \
    "\"$wrapper\" stats %d >\"$tmp/live.txt\"; ls /dev/shm/aio-rs-stats.$me_uid.%d >\"$tmp/during.txt\"" 2>&1)
expect_tables "aio-rs stats PID, running" "$(summarize "$tmp/live.txt")" 1 running 6 auto
expect_tables "the exit report" "$(printf '%s\n' "$exit_report" | summarize)" 1 exited 6 auto
expect_eq "the reader's table is the exit report's" "$(sed 1d "$tmp/live.txt")" "$(printf '%s\n' "$exit_report" | sed 1d)"
live_pid=$(summarize "$tmp/live.txt" | cut -d' ' -f1)
expect_eq "the file stays while the process runs" "/dev/shm/aio-rs-stats.$me_uid.$live_pid" "$(cat "$tmp/during.txt")"
[ ! -e "/dev/shm/aio-rs-stats.$me_uid.$live_pid" ] && pass || fail "the exit handler did not remove the stats file"

# aio-rs stats PID after _exit: found in /dev/shm, printed, removed; --keep keeps it.
srun env AIO_RS_STATS=1 LD_PRELOAD="$real_so" "$kids" 0 2 _exit "echo %d >\"$tmp/gone.pid\"" ||
    fail "a process that leaves with _exit"
gone=$(cat "$tmp/gone.pid")
out=$(srun "$wrapper" stats --keep "$gone")
expect_tables "aio-rs stats --keep PID, ended" "$(printf '%s\n' "$out" | summarize)" 1 ended 2 auto
out=$(srun "$wrapper" stats "$gone")
expect_tables "aio-rs stats PID, ended" "$(printf '%s\n' "$out" | summarize)" 1 ended 2 auto
[ ! -e "/dev/shm/aio-rs-stats.$me_uid.$gone" ] && pass || fail "aio-rs stats PID did not remove an ended process's file"
err=$(srun "$wrapper" stats "$gone" 2>&1)
expect_eq "aio-rs stats PID, no file: status" 1 "$(srun "$wrapper" stats "$gone" >/dev/null 2>&1; echo $?)"
expect_match "aio-rs stats PID, no file: message" "*no stats file for process $gone*" "$err"

# AIO_RS_STATS_DIR: the files stay there at exit, nothing is printed; aio-rs stats --dir (or
# AIO_RS_STATS_DIR) reads them all, in PID order.
mkdir "$tmp/sdir"
err=$(srun env AIO_RS_STATS=1 AIO_RS_STATS_DIR="$tmp/sdir" LD_PRELOAD="$real_so" "$kids" 2 3 exit 2>&1)
expect_eq "AIO_RS_STATS_DIR: nothing printed at exit" "" "$err"
expect_eq "AIO_RS_STATS_DIR: one file per process" 2 "$(ls "$tmp/sdir" | grep -c "^aio-rs-stats\.$me_uid\.[0-9]*$")"
for f in "$tmp/sdir"/*; do
    expect_eq "a stats file's mode" "600" "$(stat -c %a "$f")"
done
out=$(srun env AIO_RS_STATS_DIR="$tmp/sdir" "$wrapper" stats --keep)
# Every process: those of AIO_RS_STATS_DIR and of /dev/shm. Only this run's are compared, since
# /dev/shm may hold files of other users of the machine's library (their own PIDs).
ours=$(ls "$tmp/sdir" | sed -n "s/^aio-rs-stats\.$me_uid\.\([0-9]*\)$/\1/p" | tr '\n' ' ')
sum=$(printf '%s\n' "$out" | summarize | awk -v ours=" $ours" 'index(ours, " " $1 " ")')
expect_tables "aio-rs stats (AIO_RS_STATS_DIR), every process" "$sum" 2 exited 3 auto
expect_eq "aio-rs stats: in PID order" "$(printf '%s\n' "$sum" | cut -d' ' -f1 | sort -n)" "$(printf '%s\n' "$sum" | cut -d' ' -f1)"
out=$(srun "$wrapper" stats --dir "$tmp/sdir")
expect_tables "aio-rs stats --dir" "$(printf '%s\n' "$out" | summarize)" 2 exited 3 auto
expect_eq "aio-rs stats --dir removed the files of ended processes" "" "$(ls "$tmp/sdir")"

printf 'wrapper-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
