/* DESCRIPTION: aio_suspend with a relative timeout and nothing done fails with EAGAIN after about that time */
#include "support/common.h"

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[8];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *list[1] = { &cb };
    long waits[] = { 1, 50, 200 };
    for (int i = 0; i < 3; i++) {
        struct timespec ts = ms_ts(waits[i]);
        long long t0 = now_ms();
        CHECK_ERR(aio_suspend(list, 1, &ts), EAGAIN);
        long long dt = now_ms() - t0;
        /* relative timeout: at least the time asked, not wildly more */
        if (dt < waits[i] - 1 || dt > waits[i] + 1000)
            die("timeout of %ld ms took %lld ms", waits[i], dt);
    }
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "k", 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    return 0;
}
