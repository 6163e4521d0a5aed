/* DESCRIPTION: O_DIRECT reads submitted back to back on distinct aiocbs (more than one batch's worth) complete with the right data */
#include "support/defer.h"

#define SEED 49
enum { N = 40, SZ = 4096 };

int main(void)
{
    int fd = tmp_open_direct();
    static char wb[65536] __attribute__((aligned(4096)));
    for (int c = 0; c < 16; c++) {
        pat_fill(wb, sizeof wb, (long long)c * (long long)sizeof wb, SEED);
        if (pwrite(fd, wb, sizeof wb, (off_t)c * (off_t)sizeof wb) != (ssize_t)sizeof wb)
            die("pwrite");
    }
    static char buf[N][SZ] __attribute__((aligned(4096)));
    struct aiocb cb[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * ((5 * i + round) % 256));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * ((5 * i + round) % 256), SEED);
        }
    }
    return 0;
}
