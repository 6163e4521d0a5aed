/* DESCRIPTION: aio_cancel(fd, NULL) cancels every pending read on a pipe: AIO_CANCELED and all ECANCELED */
/* GLIBC-XFAIL: glibc cannot cancel the request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/common.h"

#define N 5

int main(void)
{
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    static struct aiocb cbs[N], other;
    char bufs[N][8], obuf[8];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], p[0], bufs[i], sizeof bufs[i], 0);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    /* a request on another fd must not be touched */
    cb_init(&other, q[0], obuf, sizeof obuf, 0);
    CHECK_EQ(aio_read(&other), 0);
    int r = aio_cancel(p[0], NULL);
    if (r != AIO_CANCELED) {
        for (int i = 0; i < N; i++)
            write_all(p[1], "u", 1);
        die("aio_cancel(fd, NULL) returned %d, expected AIO_CANCELED", r);
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(aio_error(&cbs[i]), ECANCELED);
        CHECK_EQ(aio_return(&cbs[i]), -1);
    }
    CHECK_EQ(aio_error(&other), EINPROGRESS);
    write_all(q[1], "other", 5);
    wait_done(&other);
    CHECK_DONE_OK(&other, 5);
    /* nothing left on p[0] */
    CHECK_EQ(aio_cancel(p[0], NULL), AIO_ALLDONE);
    return 0;
}
