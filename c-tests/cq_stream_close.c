/* DESCRIPTION: a completion queue that was being harvested is closed (aio_rs_cq_close, then close()) while pipe reads for it are parked: the reads complete with the data written after the close, status in aio_error, and a new queue works */
#include "support/ext.h"
#include <sys/epoll.h>

enum { R = 6, LEN = 8 };

static void parked_then_closed(int use_close)
{
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int p[R][2];
    for (int i = 0; i < R; i++)
        make_pipe(p[i]);
    for (int i = 0; i < 20; i++)
        cq_pipe_round_trip(q, p[i % R]);
    struct aiocb cbs[R];
    char bufs[R][LEN];
    for (int i = 0; i < R; i++) {
        cb_init(&cbs[i], p[i][0], bufs[i], LEN, 0);
        cb_queue(&cbs[i], q);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    if (use_close)
        SYS(close(q));
    else
        CHECK_EQ(x_cq_close(q), 0);
    for (int i = 0; i < R; i++) {
        char m[LEN];
        snprintf(m, sizeof m, "pipe %d", i);
        write_all(p[i][1], m, LEN);
    }
    for (int i = 0; i < R; i++) {
        char m[LEN];
        snprintf(m, sizeof m, "pipe %d", i);
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], LEN);
        CHECK_EQ(memcmp(bufs[i], m, LEN), 0);
    }
    for (int i = 0; i < R; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

int main(void)
{
    cq_require();
    parked_then_closed(0);
    parked_then_closed(1);
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int p[2];
    make_pipe(p);
    cq_pipe_round_trip(q, p);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
