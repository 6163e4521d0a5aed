/* DESCRIPTION: vector AIO refuses a NULL iovec array with a non-zero count, more than IOV_MAX entries and unknown aio_read2 flags with EINVAL; IOV_MAX entries work and a count of 0 completes with 0 */
#include "support/ext.h"

int main(void)
{
    vec_require();
    int fd = tmp_pattern_file(8192, 3);
    struct aiocb cb;
    /* NULL array, count 2 */
    cb_init(&cb, fd, NULL, 2, 0);
    CHECK_ERR(x_aio_readv(&cb), EINVAL);
    CHECK_ERR(x_aio_writev(&cb), EINVAL);
    CHECK_ERR(x_aio_read2(&cb, AIO_OP2_VECTORED), EINVAL);
    /* IOV_MAX + 1 entries */
    enum { MAXV = 1024 };
    static struct iovec iov[MAXV + 1];
    static char bytes[MAXV + 1];
    for (int i = 0; i <= MAXV; i++) {
        iov[i].iov_base = &bytes[i];
        iov[i].iov_len = 1;
    }
    cb_initv(&cb, fd, iov, MAXV + 1, 0);
    CHECK_ERR(x_aio_readv(&cb), EINVAL);
    CHECK_ERR(x_aio_write2(&cb, AIO_OP2_VECTORED | AIO_OP2_FOFFSET), EINVAL);
    /* unknown flag bits */
    cb_init(&cb, fd, bytes, 1, 0);
    CHECK_ERR(x_aio_read2(&cb, 4), EINVAL);
    CHECK_ERR(x_aio_write2(&cb, -1), EINVAL);
    CHECK_ERR(x_aio_readv(NULL), EINVAL);
    /* lio_listio: the bad entry is refused (the call fails with its error, EINVAL, which the
     * entry holds too), the good one runs */
    struct aiocb bad, good;
    cb_init(&bad, fd, NULL, 3, 0);
    bad.aio_lio_opcode = LIO_READV;
    char one[16];
    cb_init(&good, fd, one, sizeof one, 0);
    good.aio_lio_opcode = LIO_READ;
    struct aiocb *list[] = {&bad, &good};
    CHECK_ERR(lio_listio(LIO_WAIT, list, 2, NULL), EINVAL);
    CHECK_EQ(aio_error(&bad), EINVAL);
    CHECK_DONE_OK(&good, sizeof one);
    /* exactly IOV_MAX entries: fine */
    cb_initv(&cb, fd, iov, MAXV, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, MAXV);
    CHECK_PAT(bytes, MAXV, 0, 3);
    /* count 0: nothing to do, completes with 0 (as readv(2) with no entries returns 0) */
    cb_initv(&cb, fd, NULL, 0, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    cb_initv(&cb, fd, iov, 0, 0);
    CHECK_EQ(x_aio_writev(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    /* and on a pipe */
    int p[2];
    make_pipe(p);
    cb_initv(&cb, p[0], NULL, 0, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    /* a bad array pointer is the kernel's to report: EFAULT, no crash */
    cb_initv(&cb, fd, (struct iovec *)16, 2, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), EFAULT);
    return 0;
}
