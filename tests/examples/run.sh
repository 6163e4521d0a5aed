#!/bin/sh
# Builds the examples against the built library and runs them, as `make check` does
# (`make examples-check`):
#   * examples/aiocp: copies of files of odd sizes, buffered and with -d (O_DIRECT), on glibc's
#     AIO and on aio-rs under every engine and with io_uring forbidden; each copy compared with
#     its source;
#   * examples/epoll-server: 10,000 requests from 50 concurrent clients (tests/examples/
#     epoll-client.c), every answer checked byte for byte, under every engine and with io_uring
#     forbidden.
# Every step has a time bound. Usage: tests/examples/run.sh [path/to/libaio_rs.so]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:-${CARGO_TARGET_DIR:-$root/target}/release/libaio_rs.so}
case $lib in /*) ;; *) lib=$root/$lib ;; esac
[ -f "$lib" ] || { echo "examples: $lib does not exist (cargo build --release)" >&2; exit 1; }
cc=${CC:-cc}
# O_DIRECT needs a real file system (not tmpfs): the C tests' convention.
data=$(mktemp -d "${TMPDIR:-/var/tmp}/aio-rs-examples.XXXXXX")
srv=
cleanup() {
    [ -z "$srv" ] || kill "$srv" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT INT TERM

# The binaries; the linked server finds the library through a directory of its own with the
# SONAME link.
mkdir "$data/lib"
ln -s "$lib" "$data/lib/libaio_rs.so"
ln -s "$lib" "$data/lib/libaio_rs.so.0"
flags="-O2 -Wall -Wextra -Werror"
$cc $flags -o "$data/aiocp" "$root/examples/aiocp.c" -lrt
$cc $flags -I"$root/include" -o "$data/epoll-server" "$root/examples/epoll-server.c" \
    -L"$data/lib" -laio_rs -Wl,-rpath,"$data/lib"
$cc $flags -pthread -o "$data/epoll-client" "$root/tests/examples/epoll-client.c"
$cc -O1 -Wall -Werror -o "$data/nouring" "$root/c-tests/support/nouring.c"

# Data: sizes that are not multiples of the block size.
head -c 5254321 /dev/urandom >"$data/a.bin"
head -c 300007 /dev/urandom >"$data/b.bin"
: >"$data/empty.bin"

# mode NAME: sets how a program runs (`run CMD...`).
run() {
    case $mode in
    glibc) env -u LD_PRELOAD -u AIO_RS_BACKEND "$@" ;;
    aio-rs) env -u AIO_RS_BACKEND LD_PRELOAD="$lib" "$@" ;;
    nouring) env -u AIO_RS_BACKEND LD_PRELOAD="$lib" "$data/nouring" "$@" ;;
    *) env LD_PRELOAD="$lib" AIO_RS_BACKEND="$mode" "$@" ;;
    esac
}

for mode in glibc aio-rs uring kaio threads nouring; do
    # Small requests (many in flight, a short last one), and the defaults (4 MiB: a.bin is one
    # whole block and a short one, b.bin a single short one).
    for f in a.bin b.bin empty.bin; do
        for d in "" -d "-n 6 -b 131072" "-d -n 6 -b 131072"; do
            rm -f "$data/copy"
            if ! run timeout 60 "$data/aiocp" $d "$data/$f" "$data/copy"; then
                if [ "${d#-d}" != "$d" ] && [ ! -s "$data/copy" ] && ! dd if=/dev/zero of="$data/probe" bs=4096 count=1 \
                    oflag=direct status=none 2>/dev/null; then
                    echo "examples: O_DIRECT refused in $data: aiocp -d not run"
                    continue
                fi
                echo "examples: aiocp $d $f failed ($mode)" >&2
                exit 1
            fi
            cmp -s "$data/$f" "$data/copy" || { echo "examples: aiocp $d $f: the copy differs ($mode)" >&2; exit 1; }
        done
    done
    echo "examples: aiocp ($mode): buffered and O_DIRECT copies identical"
done

for mode in aio-rs uring kaio threads nouring; do
    out="$data/server.out"
    : >"$out"
    run timeout 120 "$data/epoll-server" -c 10000 "$data/a.bin" "$data/b.bin" >"$out" &
    srv=$!
    tries=0
    while ! grep -q '^port ' "$out"; do
        tries=$((tries + 1))
        [ $tries -lt 200 ] || { echo "examples: epoll-server did not start ($mode)" >&2; exit 1; }
        sleep 0.05
    done
    port=$(awk '/^port / { print $2; exit }' "$out")
    timeout 120 "$data/epoll-client" "$port" 50 10000 "$data/a.bin" "$data/b.bin" ||
        { echo "examples: epoll-client failed ($mode)" >&2; exit 1; }
    wait $srv || { echo "examples: epoll-server exited with status $? ($mode)" >&2; srv=; exit 1; }
    srv=
    echo "examples: epoll-server ($mode): 10,000 requests from 50 clients answered byte for byte"
done
