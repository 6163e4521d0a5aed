/* DESCRIPTION: aio_cancel of a read just deferred into a batch: AIO_CANCELED leaves its buffer untouched with ECANCELED; otherwise (AIO_NOTCANCELED, AIO_ALLDONE) the read completes with the right data */
#include "support/defer.h"

#define SEED 44
enum { N = 3, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][SZ];
    struct aiocb cb[N];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0x5a, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (3 * i + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        /* By request (the last one), then by descriptor. */
        int r = aio_cancel(fd, &cb[N - 1]);
        CHECK(r == AIO_CANCELED || r == AIO_NOTCANCELED || r == AIO_ALLDONE);
        int all = aio_cancel(fd, NULL);
        CHECK(all == AIO_CANCELED || all == AIO_NOTCANCELED || all == AIO_ALLDONE);
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            int e = aio_error(&cb[i]);
            ssize_t n = aio_return(&cb[i]);
            if (e == ECANCELED) {
                CHECK_EQ(n, -1);
                for (int k = 0; k < SZ; k++)
                    if ((unsigned char)buf[i][k] != 0x5a)
                        die("cancelled read %d wrote its buffer (byte %d)", i, k);
            } else {
                CHECK_EQ(e, 0);
                CHECK_EQ(n, SZ);
                CHECK_PAT(buf[i], SZ, (long long)SZ * (3 * i + round), SEED);
            }
        }
        if (r == AIO_CANCELED)
            CHECK_EQ(aio_error(&cb[N - 1]), ECANCELED);
    }
    return 0;
}
