/* DESCRIPTION: aio_readv, aio_read2(AIO_OP2_VECTORED) and lio_listio(LIO_READV) scatter a file region into separate buffers (an empty entry included) with the right count */
#include "support/ext.h"

#define SEED 21

static void check_pieces(struct iovec *iov, int cnt, long long off)
{
    for (int i = 0; i < cnt; i++) {
        CHECK_PAT(iov[i].iov_base, iov[i].iov_len, off, SEED);
        off += (long long)iov[i].iov_len;
    }
}

int main(void)
{
    vec_require();
    int fd = tmp_pattern_file(1 << 20, SEED);
    static const size_t lens[] = {1, 4095, 0, 8192, 17, 3000};
    enum { CNT = 6 };
    static char a[3][16384];
    struct iovec iov[3][CNT];
    size_t total = 0;
    for (int k = 0; k < 3; k++)
        total = iov_split(iov[k], a[k], lens, CNT);

    struct aiocb cb[3];
    cb_initv(&cb[0], fd, iov[0], CNT, 5);
    cb_initv(&cb[1], fd, iov[1], CNT, 70001);
    cb_initv(&cb[2], fd, iov[2], CNT, 123456);
    vec_three_ways(cb, 0, total);
    check_pieces(iov[0], CNT, 5);
    check_pieces(iov[1], CNT, 70001);
    check_pieces(iov[2], CNT, 123456);

    /* Near the end of the file: a short read, split over the entries as readv(2) would. */
    memset(a[0], 0, sizeof a[0]);
    cb_initv(&cb[0], fd, iov[0], CNT, (1 << 20) - 5000);
    CHECK_EQ(x_aio_readv(&cb[0]), 0);
    wait_done(&cb[0]);
    CHECK_DONE_OK(&cb[0], 5000);
    CHECK_PAT(a[0], 5000, (1 << 20) - 5000, SEED);
    CHECK_EQ(a[0][5000], 0);
    return 0;
}
