/* DESCRIPTION: vectored O_DIRECT writes and reads with aligned entries work on every engine; an entry with a misaligned address or length fails with EINVAL from aio_error, as preadv(2) does */
#include "support/ext.h"

#define BLK 4096

int main(void)
{
    vec_require();
    int fd = tmp_open_direct();
    char *buf;
    CHECK_EQ(posix_memalign((void **)&buf, BLK, 16 * BLK), 0);
    pat_fill(buf, 8 * BLK, 0, 9);
    /* three aligned entries: 1, 4 and 3 blocks, not contiguous in memory */
    struct iovec w[3] = {
        {buf, BLK}, {buf + 2 * BLK, 4 * BLK}, {buf + 8 * BLK, 3 * BLK},
    };
    pat_fill(buf, BLK, 0, 9);
    pat_fill(buf + 2 * BLK, 4 * BLK, BLK, 9);
    pat_fill(buf + 8 * BLK, 3 * BLK, 5 * BLK, 9);
    struct aiocb cb;
    cb_initv(&cb, fd, w, 3, 0);
    CHECK_EQ(x_aio_writev(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 8 * BLK);
    char *back;
    CHECK_EQ(posix_memalign((void **)&back, BLK, 16 * BLK), 0);
    memset(back, 0, 16 * BLK);
    struct iovec r[2] = {{back + 8 * BLK, 5 * BLK}, {back, 3 * BLK}};
    cb_initv(&cb, fd, r, 2, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 8 * BLK);
    CHECK_PAT(back + 8 * BLK, 5 * BLK, 0, 9);
    CHECK_PAT(back, 3 * BLK, 5 * BLK, 9);

    /* what the kernel says for the same misaligned vector done synchronously */
    struct iovec bad[2] = {{back, BLK}, {back + BLK + 1, BLK}};
    errno = 0;
    CHECK_EQ(preadv(fd, bad, 2, 0), -1);
    CHECK_EQ(errno, EINVAL);
    /* misaligned address of the second entry; misaligned length of the first */
    struct iovec badlen[2] = {{back, BLK + 512 + 1}, {back + 4 * BLK, BLK}};
    struct aiocb cbs[3];
    cb_initv(&cbs[0], fd, bad, 2, 0);
    cb_initv(&cbs[1], fd, badlen, 2, 0);
    cb_initv(&cbs[2], fd, bad, 2, 0);
    CHECK_EQ(x_aio_readv(&cbs[0]), 0);
    CHECK_EQ(x_aio_readv(&cbs[1]), 0);
    CHECK_EQ(x_aio_writev(&cbs[2]), 0);
    for (int i = 0; i < 3; i++) {
        wait_done(&cbs[i]);
        if (aio_error(&cbs[i]) != EINVAL)
            die("request %d: aio_error %d, expected EINVAL", i, aio_error(&cbs[i]));
        CHECK_EQ(aio_return(&cbs[i]), -1);
    }
    /* the file is untouched by the failed write */
    memset(back, 0, BLK);
    CHECK_EQ(pread(fd, back, BLK, 0), BLK);
    CHECK_PAT(back, BLK, 0, 9);
    /* at the file position (kernel AIO has none: another engine takes it) */
    SYS(lseek(fd, 2 * BLK, SEEK_SET));
    struct iovec pos[2] = {{back, BLK}, {back + 4 * BLK, BLK}};
    cb_initv(&cb, fd, pos, 2, 0);
    CHECK_EQ(x_aio_read2(&cb, AIO_OP2_VECTORED | AIO_OP2_FOFFSET), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2 * BLK);
    CHECK_PAT(back, BLK, 2 * BLK, 9);
    CHECK_PAT(back + 4 * BLK, BLK, 3 * BLK, 9);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 4 * BLK);
    return 0;
}
