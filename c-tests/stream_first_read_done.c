/* DESCRIPTION: on the worker engine, aio_read of a pipe that already holds data (and aio_write to a pipe with room) is complete when the call returns */
#include "support/common.h"

/* The submitting thread makes the first non-blocking attempt itself (aio-rs's
 * worker engine, AIO_RS_BACKEND=threads): the result is there before
 * aio_read/aio_write returns, with no other thread involved. Elsewhere (glibc,
 * io_uring) only the results are checked. */
int main(void)
{
    const char *be = getenv("AIO_RS_BACKEND");
    int here = is_aio_rs((void *)aio_read) && be && strcmp(be, "threads") == 0;
    int p[2];
    make_pipe(p);
    char out[64], in[64];
    for (int round = 0; round < 20; round++) {
        pat_fill(out, sizeof out, round, 7);
        struct aiocb w;
        cb_init(&w, p[1], out, sizeof out, 0);
        CHECK_EQ(aio_write(&w), 0);
        if (here && aio_error(&w) != 0)
            die("round %d: the write to an empty pipe was not done when aio_write returned (aio_error %d)",
                round, aio_error(&w));
        wait_done(&w);
        CHECK_DONE_OK(&w, (ssize_t)sizeof out);
        memset(in, 0, sizeof in);
        struct aiocb r;
        cb_init(&r, p[0], in, sizeof in, 0);
        CHECK_EQ(aio_read(&r), 0);
        if (here && aio_error(&r) != 0)
            die("round %d: the read of a pipe holding data was not done when aio_read returned (aio_error %d)",
                round, aio_error(&r));
        wait_done(&r);
        CHECK_DONE_OK(&r, (ssize_t)sizeof in);
        CHECK_PAT(in, sizeof in, round, 7);
    }
    return 0;
}
