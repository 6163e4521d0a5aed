/* DESCRIPTION: aio_fsync after reads deferred into a batch: the fsync completes successfully, and every read submitted before it completes with the right data */
#include "support/defer.h"

#define SEED 43
enum { N = 6, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][SZ];
    struct aiocb cb[N], fs;
    for (int i = 0; i < N; i++) {
        cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (11 * i + 2));
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    cb_init(&fs, fd, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &fs), 0);
    wait_done(&fs);
    CHECK_DONE_OK(&fs, 0);
    for (int i = 0; i < N; i++) {
        wait_done(&cb[i]);
        CHECK_DONE_OK(&cb[i], SZ);
        CHECK_PAT(buf[i], SZ, (long long)SZ * (11 * i + 2), SEED);
    }
    return 0;
}
