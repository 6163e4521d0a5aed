/* DESCRIPTION: a pipe read that aio_suspend timed out on, or that a signal handler interrupted aio_suspend for, is still pending and cancellable afterwards: aio_cancel answers AIO_CANCELED and the data goes to the next reader */
/* GLIBC-XFAIL: glibc cannot cancel a request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/common.h"

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
}

/* Cancels cb (pending on p[0]); an implementation may need a moment to take
 * back a request its waiter held: AIO_NOTCANCELED is retried for up to 2 s. */
static void cancel_and_check(int p[2], struct aiocb *cb, const char *what)
{
    CHECK_EQ(aio_error(cb), EINPROGRESS);
    long long deadline = now_ms() + 2000;
    int r;
    while ((r = aio_cancel(p[0], cb)) == AIO_NOTCANCELED && now_ms() < deadline)
        pause_us(1000);
    if (r != AIO_CANCELED)
        die("%s: aio_cancel returned %d, expected AIO_CANCELED", what, r);
    CHECK_EQ(aio_error(cb), ECANCELED);
    CHECK_EQ(aio_return(cb), -1);
    write_all(p[1], "x", 1);
    char c = 0;
    read_all(p[0], &c, 1);
    CHECK_EQ(c, 'x');
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[16];
    struct aiocb cb;
    const struct aiocb *list[1] = { &cb };

    /* A timeout. */
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    struct timespec ts = ms_ts(50);
    CHECK_EQ(aio_suspend(list, 1, &ts), -1);
    CHECK_EQ(errno, EAGAIN);
    cancel_and_check(p, &cb, "after a timeout");

    /* A signal handler. */
    on_signal(SIGUSR1, on_usr1);
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    timer_t t = thread_timer_start(SIGUSR1, 50, 0);
    ts = ms_ts(5000);
    CHECK_EQ(aio_suspend(list, 1, &ts), -1);
    CHECK_EQ(errno, EINTR);
    thread_timer_stop(t);
    cancel_and_check(p, &cb, "after a signal handler");
    return 0;
}
