/* DESCRIPTION: a signal handler calls aio_suspend on the very pipe read its interrupted thread was asleep on alone in aio_suspend (aio-rs claims such a read): the data written while the handler waits completes the read, and the handler's aio_suspend returns 0 long before its timeout; the interrupted aio_suspend then returns 0 or EINTR, and the read completed once */
/* With AIO_RS_BACKEND=uring the read goes to io_uring instead, and the interrupted aio_suspend
 * sleeps on the queue's ring holding its reap lock: the same test then covers a slept-on kernel
 * source. */
#include "support/sigtest.h"

enum { INNER_MS = 3000 };

static struct aiocb cb;
static char buf[16];
static atomic_int tid, in_handler, outer_ret, outer_errno;
static struct timed_wait inner;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&in_handler, 1);
    timed_suspend(list, 1, INNER_MS, &inner);
}

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    struct timespec ts = ms_ts(4 * DONE_MS);
    int r = aio_suspend(list, 1, &ts);
    atomic_store(&outer_errno, errno);
    atomic_store(&outer_ret, r == 0 ? 1 : -1);
    return NULL;
}

int main(void)
{
    on_signal(SIGUSR1, handler);
    int p[2];
    make_pipe(p);
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    pthread_t t = start_then_signal(sleeper, NULL, &tid, SIGUSR1);
    WAIT_UNTIL(atomic_load(&in_handler) != 0, DONE_MS);
    /* The handler is in (or about to enter) its aio_suspend: the data comes now. */
    write_all(p[1], "ping", 4);
    CHECK_EQ(pthread_join(t, NULL), 0);
    check_timed_wait_quick(&inner, INNER_MS, "the handler's aio_suspend (the data in the pipe)");
    if (atomic_load(&outer_ret) != 1 && atomic_load(&outer_errno) != EINTR)
        die("the interrupted aio_suspend failed with errno %d (%s)", atomic_load(&outer_errno),
            strerror(atomic_load(&outer_errno)));
    CHECK_DONE_OK(&cb, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    check_pipe_read_once(p);
    return 0;
}
