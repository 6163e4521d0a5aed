/* DESCRIPTION: aio_waitcomplete returns each request submitted for it (AIO_RS_WAITCOMPLETE_QUEUE) once, with its result or -1 and its error; EAGAIN when none is outstanding, EINPROGRESS at the timeout, EINVAL for bad arguments; other requests are not its */
#include "support/ext.h"

int main(void)
{
    cq_require();
    struct aiocb *got = (struct aiocb *)1;
    struct timespec zero = {0, 0}, bad = {0, 1000000000L};
    /* nothing outstanding */
    CHECK_ERR(x_aio_waitcomplete(&got, &zero), EAGAIN);
    CHECK(got == NULL);
    CHECK_ERR(x_aio_waitcomplete(&got, NULL), EAGAIN);
    CHECK_ERR(x_aio_waitcomplete(NULL, &zero), EINVAL);
    CHECK_ERR(x_aio_waitcomplete(&got, &bad), EINVAL);

    int fd = tmp_pattern_file(8192, 9);
    enum { N = 4 };
    struct aiocb cbs[N], other;
    char bufs[N][100], ob[10];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], 100, i * 100);
        cb_queue(&cbs[i], AIO_RS_WAITCOMPLETE_QUEUE);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    /* a plain request is not aio_waitcomplete's */
    cb_init(&other, fd, ob, sizeof ob, 0);
    CHECK_EQ(aio_read(&other), 0);
    int seen = 0;
    for (int k = 0; k < N; k++) {
        struct timespec ts = ms_ts(DONE_MS);
        ssize_t r = x_aio_waitcomplete(&got, &ts);
        CHECK_EQ(r, 100);
        int idx = (int)(got - cbs);
        CHECK(idx >= 0 && idx < N && !(seen & (1 << idx)));
        seen |= 1 << idx;
        CHECK_PAT(bufs[idx], 100, idx * 100, 9);
    }
    wait_done(&other);
    CHECK_DONE_OK(&other, sizeof ob);
    CHECK_ERR(x_aio_waitcomplete(&got, &zero), EAGAIN);

    /* a failed request: -1 and its error, *iocbp set */
    int p[2];
    make_pipe(p);
    struct aiocb w;
    cb_init(&w, p[0], "x", 1, 0); /* write to the read end: EBADF */
    cb_queue(&w, AIO_RS_WAITCOMPLETE_QUEUE);
    CHECK_EQ(aio_write(&w), 0);
    struct timespec ts = ms_ts(DONE_MS);
    errno = 0;
    CHECK_EQ(x_aio_waitcomplete(&got, &ts), -1);
    CHECK_EQ(errno, EBADF);
    CHECK(got == &w);

    /* a pending one: the timeout passes (EINPROGRESS), then a blocking wait gets it */
    char b3[3];
    struct aiocb rd;
    cb_init(&rd, p[0], b3, 3, 0);
    cb_queue(&rd, AIO_RS_WAITCOMPLETE_QUEUE);
    CHECK_EQ(aio_read(&rd), 0);
    got = (struct aiocb *)1;
    CHECK_ERR(x_aio_waitcomplete(&got, &zero), EINPROGRESS);
    CHECK(got == NULL);
    ts = ms_ts(50);
    CHECK_ERR(x_aio_waitcomplete(&got, &ts), EINPROGRESS);
    pthread_t t;
    struct late_write lw = {p[1], "abc"};
    pthread_create(&t, NULL, late_writer, &lw);
    CHECK_EQ(x_aio_waitcomplete(&got, NULL), 3);
    CHECK(got == &rd && memcmp(b3, "abc", 3) == 0);
    pthread_join(t, NULL);
    /* the waitcomplete queue can also be harvested by name */
    cb_init(&rd, fd, b3, 3, 0);
    cb_queue(&rd, AIO_RS_WAITCOMPLETE_QUEUE);
    CHECK_EQ(aio_read(&rd), 0);
    struct aiocb *v[2];
    ts = ms_ts(DONE_MS);
    CHECK_EQ(x_cq_harvest(AIO_RS_WAITCOMPLETE_QUEUE, v, 2, &ts), 1);
    CHECK(v[0] == &rd);
    CHECK_ERR(x_aio_waitcomplete(&got, &zero), EAGAIN);
    CHECK_ERR(x_cq_close(AIO_RS_WAITCOMPLETE_QUEUE), EBADF);
    return 0;
}
