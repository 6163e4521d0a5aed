/* DESCRIPTION: aio_error and aio_return called inside the completion signal handler see the finished result */
#include "support/common.h"

static struct aiocb cb;
static volatile sig_atomic_t calls, err_seen = -1, ret_seen = -1;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (si->si_value.sival_ptr == &cb) {
        err_seen = aio_error(&cb);
        ret_seen = (sig_atomic_t)aio_return(&cb);
        calls++;
    }
}

int main(void)
{
    int sig = SIGRTMIN + 2;
    on_signal(sig, handler);
    int p[2];
    make_pipe(p);
    char buf[64];
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    cb_signal(&cb, sig);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "signal-safe", 11);
    WAIT_UNTIL(calls > 0, DONE_MS);
    CHECK_EQ(calls, 1);
    CHECK_EQ(err_seen, 0);
    CHECK_EQ(ret_seen, 11);
    CHECK(memcmp(buf, "signal-safe", 11) == 0);
    return 0;
}
