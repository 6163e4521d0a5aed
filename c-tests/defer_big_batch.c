/* DESCRIPTION: more reads submitted back to back than fit in one of aio-rs's batches (100 on distinct aiocbs, plus a short one at the end of the file) all complete exactly once with the right data */
#include "support/defer.h"

#define SEED 47
enum { N = 100, SZ = 2048 };

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][SZ];
    static struct aiocb cb[N];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            /* The last one crosses the end of the file: a short count. */
            off_t off = i == N - 1 ? (1 << 20) - 100 : (off_t)SZ * ((13 * i + round) % 500);
            cb_init(&cb[i], fd, buf[i], SZ, off);
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        struct aiocb *list[N];
        for (int i = 0; i < N; i++)
            list[i] = &cb[i];
        wait_all_ms(list, N, DONE_MS);
        for (int i = 0; i < N; i++) {
            ssize_t want = i == N - 1 ? 100 : SZ;
            CHECK_DONE_OK(&cb[i], want);
            CHECK_PAT(buf[i], (size_t)want, (long long)cb[i].aio_offset, SEED);
        }
    }
    return 0;
}
