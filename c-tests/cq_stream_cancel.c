/* DESCRIPTION: aio_cancel of a pipe read that waits for a completion queue being harvested: AIO_CANCELED, its completion harvested once with ECANCELED, and data written afterwards stays in the pipe for the program (an empty harvest at most) */
#include "support/ext.h"
#include "support/stream.h"
#include <sys/epoll.h>

enum { LEN = 8 };

int main(void)
{
    cq_require();
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int p[2];
    make_pipe(p);
    struct timespec zero = {0, 0}, ts = ms_ts(DONE_MS);
    struct aiocb *got[4];
    static struct aiocb cb;
    char in[LEN];
    /* Ping-pong rounds through the queue: it is harvested, its reads wait in it. */
    for (int i = 0; i < 30; i++) {
        cb_init(&cb, p[0], in, LEN, 0);
        cb_queue(&cb, q);
        CHECK_EQ(aio_read(&cb), 0);
        CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
        write_all(p[1], "pingpng", LEN);
        CHECK_EQ(x_cq_harvest(q, got, 4, &ts), 1);
        CHECK(got[0] == &cb);
        CHECK_DONE_OK(&cb, LEN);
    }
    for (int i = 0; i < 30; i++) {
        cb_init(&cb, p[0], in, LEN, 0);
        cb_queue(&cb, q);
        CHECK_EQ(aio_read(&cb), 0);
        CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
        int r = aio_cancel(p[0], &cb);
        CHECK(r == AIO_CANCELED || r == AIO_NOTCANCELED);
        if (r == AIO_NOTCANCELED)
            die("round %d: a parked read that moved nothing was not cancelled", i);
        CHECK_EQ(aio_error(&cb), ECANCELED);
        CHECK_EQ(aio_return(&cb), -1);
        CHECK_EQ(x_cq_harvest(q, got, 4, &ts), 1);
        CHECK(got[0] == &cb);
        /* Data written now is the program's: the cancelled read never takes it. */
        char m[LEN], back[LEN];
        snprintf(m, sizeof m, "left %02d", i);
        write_all(p[1], m, LEN);
        int k = x_cq_harvest(q, got, 4, &zero);
        CHECK_EQ(k, 0);
        read_soon(p[0], back, LEN);
        CHECK_EQ(memcmp(back, m, LEN), 0);
    }
    CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
