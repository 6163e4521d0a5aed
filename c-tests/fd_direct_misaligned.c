/* DESCRIPTION: a misaligned O_DIRECT read (buffer off by 1, offset off by 1) is accepted and fails with EINVAL from aio_error, as pread would */
#include "support/common.h"

#define BLK 4096

int main(void)
{
    int fd = tmp_open_direct();
    char *buf;
    CHECK_EQ(posix_memalign((void **)&buf, BLK, 4 * BLK), 0);
    pat_fill(buf, 4 * BLK, 0, 5);
    SYS(pwrite(fd, buf, 4 * BLK, 0));
    /* what the kernel says for the same request done synchronously */
    errno = 0;
    CHECK_EQ(pread(fd, buf + 1, BLK, 0), -1);
    CHECK_EQ(errno, EINVAL);
    struct aiocb cbs[3];
    cb_init(&cbs[0], fd, buf + 1, BLK, 0);   /* misaligned buffer */
    cb_init(&cbs[1], fd, buf, BLK, 1);       /* misaligned offset */
    cb_init(&cbs[2], fd, buf, BLK + 1, 0);   /* misaligned length */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(aio_read(&cbs[i]), 0);
        wait_done(&cbs[i]);
        if (aio_error(&cbs[i]) != EINVAL)
            die("request %d: aio_error %d, expected EINVAL", i, aio_error(&cbs[i]));
        CHECK_EQ(aio_return(&cbs[i]), -1);
    }
    /* and the fd still works */
    struct aiocb ok;
    cb_init(&ok, fd, buf, BLK, BLK);
    CHECK_EQ(aio_read(&ok), 0);
    wait_done(&ok);
    CHECK_DONE_OK(&ok, BLK);
    CHECK_PAT(buf, BLK, BLK, 5);
    return 0;
}
