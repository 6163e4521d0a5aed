/* DESCRIPTION: aio_writev, aio_write2(AIO_OP2_VECTORED) and lio_listio(LIO_WRITEV) gather separate buffers into the file at their offsets */
#include "support/ext.h"

#define SEED 22

int main(void)
{
    vec_require();
    int fd = tmp_open(0);
    static const size_t lens[] = {3, 0, 4096, 1, 9000, 500};
    enum { CNT = 6 };
    static char a[3][16384];
    struct iovec iov[3][CNT];
    size_t total = 0;
    const off_t at[3] = {0, 20000, 41000};
    for (int k = 0; k < 3; k++) {
        total = iov_split(iov[k], a[k], lens, CNT);
        pat_fill(a[k], total, at[k], SEED);
    }
    struct aiocb cb[3];
    for (int k = 0; k < 3; k++)
        cb_initv(&cb[k], fd, iov[k], CNT, at[k]);
    vec_three_ways(cb, 1, total);
    static char back[16384];
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(pread(fd, back, total, at[k]), total);
        CHECK_PAT(back, total, at[k], SEED);
    }
    return 0;
}
