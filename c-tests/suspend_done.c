/* DESCRIPTION: aio_suspend returns 0 at once when a listed request is already complete (others still pending) */
#include "support/common.h"

int main(void)
{
    int p[2];
    make_pipe(p);
    int fd = tmp_pattern_file(4096, 20);
    char pbuf[8], fbuf[64];
    struct aiocb pcb, fcb;
    cb_init(&pcb, p[0], pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&pcb), 0);
    cb_init(&fcb, fd, fbuf, sizeof fbuf, 0);
    CHECK_EQ(aio_read(&fcb), 0);
    /* wait for the file read without aio_suspend */
    WAIT_UNTIL(aio_error(&fcb) != EINPROGRESS, DONE_MS);
    CHECK_EQ(aio_error(&pcb), EINPROGRESS);

    const struct aiocb *list[2] = { &pcb, &fcb };
    for (int i = 0; i < 100; i++) {
        long long t0 = now_ns();
        CHECK_EQ(aio_suspend(list, 2, NULL), 0);
        struct timespec zero = { 0, 0 };
        CHECK_EQ(aio_suspend(list, 2, &zero), 0);
        long long dt = now_ns() - t0;
        if (dt > NOBLOCK_NS)
            die("aio_suspend took %lld us with a completed request", dt / 1000);
    }
    CHECK_DONE_OK(&fcb, sizeof fbuf);
    /* with only the pending one and a zero timeout: EAGAIN at once */
    struct timespec zero = { 0, 0 };
    CHECK_ERR(aio_suspend(list, 1, &zero), EAGAIN);
    write_all(p[1], "x", 1);
    wait_done(&pcb);
    CHECK_DONE_OK(&pcb, 1);
    return 0;
}
