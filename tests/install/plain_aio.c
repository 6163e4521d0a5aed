/*
 * A program written for glibc's POSIX AIO only: it includes <aio.h>, links against nothing but
 * the C library, and knows nothing of aio-rs. tests/install/install-test.sh runs it as is and
 * under the aio-rs wrapper.
 *
 * Does an aio_write/aio_fsync/aio_read round trip and prints where its AIO calls go:
 *   aio_read from: FILE          (the object defining the aio_read the program is bound to)
 *   aio_rs_version: X | none     (whether aio-rs is present in the process)
 *   plain_aio: ok
 */
#define _GNU_SOURCE
#include "roundtrip.h"

int main(void)
{
    printf("aio_read from: %s\n", rt_object_of(rt_lookup("aio_read")));

    void (*v)(void) = rt_lookup("aio_rs_version");
    if (v != NULL) {
        const char *(*version)(void);
        memcpy(&version, &v, sizeof version);
        printf("aio_rs_version: %s\n", version());
    } else {
        printf("aio_rs_version: none\n");
    }

    if (rt_run() != 0) {
        fprintf(stderr, "plain_aio: the AIO round trip failed\n");
        return 1;
    }
    printf("plain_aio: ok\n");
    return 0;
}
