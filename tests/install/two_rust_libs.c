/*
 * Linked statically with libaio_rs.a and another Rust static library (other_rust.rs) by
 * tests/install/static-link-test.sh. Calls into both: an aio-rs round trip and the other
 * library's function, which allocates, formats and catches a panic with its own Rust runtime.
 * Prints "aio_read from: FILE", "other_rust_sum: N" and "two_rust_libs: ok".
 */
#define _GNU_SOURCE
#include <aio_rs.h>
#include <stdint.h>

#include "roundtrip.h"

uint64_t other_rust_sum(uint32_t n);

int main(void)
{
    Dl_info info;
    const char *where = "?";
    if (dladdr((void *)aio_read, &info) && info.dli_fname)
        where = info.dli_fname;
    printf("aio_read from: %s\n", where);
    printf("aio_rs_version: %s\n", aio_rs_version());
    uint64_t sum = other_rust_sum(100);
    printf("other_rust_sum: %llu\n", (unsigned long long)sum);
    if (sum != 5050) {
        fprintf(stderr, "two_rust_libs: other_rust_sum(100) = %llu, expected 5050\n",
                (unsigned long long)sum);
        return 1;
    }
    if (rt_run() != 0)
        return 1;
    /* The other library once more, after aio-rs started its threads. */
    if (other_rust_sum(10) != 55) {
        fprintf(stderr, "two_rust_libs: other_rust_sum(10) failed after the round trip\n");
        return 1;
    }
    printf("two_rust_libs: ok\n");
    return 0;
}
