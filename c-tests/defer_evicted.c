/* DESCRIPTION: reads deferred into a batch on a file whose pages were evicted from the page cache (posix_fadvise DONTNEED) miss the cache and still complete with the right data */
#include "support/defer.h"

#define SEED 46
enum { N = 40, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(4 << 20, SEED);
    defer_prime(fd, SEED);
    for (int round = 0; round < 3; round++) {
        SYS(fdatasync(fd));
        CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
        static char buf[N][SZ];
        struct aiocb cb[N];
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (17 * i + 5 + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * (17 * i + 5 + round), SEED);
        }
    }
    return 0;
}
