/* DESCRIPTION: vectored reads (aio_readv, 4 x 1 KiB into separate buffers) submitted back to back share aio-rs's batches and complete with the right data in every piece */
#include "support/ext.h"
#include "support/defer.h"

#define SEED 48
enum { N = 40, CNT = 4, PIECE = 1024 };

int main(void)
{
    vec_require();
    int fd = tmp_pattern_file(2 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][CNT][PIECE];
    static struct iovec iov[N][CNT];
    static struct aiocb cb[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            for (int k = 0; k < CNT; k++) {
                memset(buf[i][k], 0, PIECE);
                iov[i][k].iov_base = buf[i][k];
                iov[i][k].iov_len = PIECE;
            }
            cb_initv(&cb[i], fd, iov[i], CNT, (off_t)4096 * (7 * i + round));
            CHECK_EQ(x_aio_readv(&cb[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], CNT * PIECE);
            for (int k = 0; k < CNT; k++)
                CHECK_PAT(buf[i][k], PIECE, 4096LL * (7 * i + round) + (long long)k * PIECE, SEED);
        }
    }
    return 0;
}
