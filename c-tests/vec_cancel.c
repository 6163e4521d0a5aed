/* DESCRIPTION: aio_cancel of a pending vectored pipe read (and of the vectored reads queued behind it, by fd) gives AIO_CANCELED and ECANCELED, and later data is not consumed */
#include "support/ext.h"

int main(void)
{
    vec_require();
    int p[2];
    make_pipe(p);
    char a[8], b[8];
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    struct aiocb cb;
    cb_initv(&cb, p[0], iov, 2, 0);
    CHECK_EQ(x_aio_readv(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    int r = aio_cancel(p[0], &cb);
    if (r != AIO_CANCELED) {
        write_all(p[1], "unblock unblock!", 16);
        wait_done(&cb);
        die("aio_cancel returned %d, expected AIO_CANCELED", r);
    }
    CHECK_EQ(aio_error(&cb), ECANCELED);
    CHECK_EQ(aio_return(&cb), -1);
    /* three queued reads, cancelled together by fd */
    static struct aiocb q[3];
    static char bufs[3][16];
    static struct iovec qiov[3][2];
    static const size_t lens[] = {4, 12};
    for (int i = 0; i < 3; i++) {
        iov_split(qiov[i], bufs[i], lens, 2);
        cb_initv(&q[i], p[0], qiov[i], 2, 0);
        CHECK_EQ(x_aio_read2(&q[i], AIO_OP2_VECTORED), 0);
    }
    CHECK_EQ(aio_cancel(p[0], NULL), AIO_CANCELED);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(aio_error(&q[i]), ECANCELED);
        CHECK_EQ(aio_return(&q[i]), -1);
    }
    /* the cancelled reads must not consume data written afterwards */
    write_all(p[1], "after", 5);
    char back[5];
    read_all(p[0], back, 5);
    CHECK(memcmp(back, "after", 5) == 0);
    CHECK_EQ(aio_cancel(p[0], &cb), AIO_ALLDONE);
    return 0;
}
