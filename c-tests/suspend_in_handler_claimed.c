/* DESCRIPTION: a signal handler calls aio_suspend on the very pipe read its interrupted thread was asleep on alone in aio_suspend (aio-rs claims such a read): the data written while the handler waits completes the read, and the handler's aio_suspend returns 0 long before its timeout; the interrupted aio_suspend then returns 0 or EINTR, and the read completed once */
/* With AIO_RS_BACKEND=uring the read goes to io_uring instead, and the interrupted aio_suspend
 * sleeps on the queue's ring holding its reap lock: the same test then covers a slept-on kernel
 * source. */
#include "support/sigtest.h"

enum { INNER_MS = 3000 };

static struct aiocb cb;
static char buf[16];
static atomic_int tid, in_handler, inner_ret, inner_errno, outer_ret, outer_errno;
static atomic_llong inner_ms;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(INNER_MS);
    long long t0 = now_ms();
    atomic_store(&in_handler, 1);
    int r = aio_suspend(list, 1, &ts);
    atomic_store(&inner_errno, errno);
    atomic_store(&inner_ms, now_ms() - t0);
    atomic_store(&inner_ret, r == 0 ? 1 : -1);
    errno = saved;
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
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
    WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
    wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    WAIT_UNTIL(atomic_load(&in_handler) != 0, DONE_MS);
    /* The handler is in (or about to enter) its aio_suspend: the data comes now. */
    write_all(p[1], "ping", 4);
    CHECK_EQ(pthread_join(t, NULL), 0);
    if (atomic_load(&inner_ret) != 1)
        die("the handler's aio_suspend returned -1 errno %d (%s) after %lld ms with the data in "
            "the pipe", atomic_load(&inner_errno), strerror(atomic_load(&inner_errno)),
            (long long)atomic_load(&inner_ms));
    if (atomic_load(&inner_ms) > INNER_MS / 2)
        die("the handler's aio_suspend took %lld ms", (long long)atomic_load(&inner_ms));
    if (atomic_load(&outer_ret) != 1 && atomic_load(&outer_errno) != EINTR)
        die("the interrupted aio_suspend failed with errno %d (%s)", atomic_load(&outer_errno),
            strerror(atomic_load(&outer_errno)));
    CHECK_DONE_OK(&cb, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    check_pipe_read_once(p);
    return 0;
}
