/* DESCRIPTION: aio_suspend works when called from a signal handler (it is async-signal-safe) */
#include "support/common.h"

static struct aiocb cb, pcb;
static volatile sig_atomic_t r_done = -2, e_done, r_pend = -2, e_pend;

static void handler(int sig)
{
    (void)sig;
    const struct aiocb *l1[1] = { &cb };
    struct timespec ts = ms_ts(DONE_MS);
    /* wait for the file read, which may still be running */
    while ((r_done = aio_suspend(l1, 1, &ts)) == 0 &&
           aio_error(&cb) == EINPROGRESS)
        ;
    e_done = errno;
    const struct aiocb *l2[1] = { &pcb };
    struct timespec short_ts = ms_ts(20);
    r_pend = aio_suspend(l2, 1, &short_ts);
    e_pend = errno;
}

int main(void)
{
    signal(SIGUSR1, handler);
    int fd = tmp_pattern_file(1 << 20, 21);
    int p[2];
    make_pipe(p);
    static char buf[1 << 20];
    char pbuf[4];
    cb_init(&pcb, p[0], pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&pcb), 0);
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    raise(SIGUSR1);
    if (r_done != 0)
        die("aio_suspend in handler returned %d errno %d", r_done, e_done);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 0, 21);
    if (r_pend != -1 || e_pend != EAGAIN)
        die("aio_suspend with timeout in handler returned %d errno %d",
            r_pend, e_pend);
    write_all(p[1], "z", 1);
    wait_done(&pcb);
    CHECK_DONE_OK(&pcb, 1);
    return 0;
}
