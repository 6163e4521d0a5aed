/* DESCRIPTION: a signal delivered during aio_suspend makes it fail with EINTR */
#include "support/common.h"

static volatile sig_atomic_t ticks;
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si; (void)uc;
    ticks++;
}

int main(void)
{
    on_signal(SIGUSR1, handler);
    int p[2];
    make_pipe(p);
    char buf[8];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *list[1] = { &cb };
    for (int round = 0; round < 2; round++) {
        /* round 0: no timeout; round 1: a long timeout */
        struct timespec ts = ms_ts(8000);
        timer_t t = thread_timer_start(SIGUSR1, 30, 20);
        long long t0 = now_ms();
        CHECK_ERR(aio_suspend(list, 1, round ? &ts : NULL), EINTR);
        long long dt = now_ms() - t0;
        thread_timer_stop(t);
        CHECK(ticks > 0);
        if (dt > 2000)
            die("aio_suspend noticed the signal only after %lld ms", dt);
    }
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "s", 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    return 0;
}
