/* DESCRIPTION: a signal handler calls aio_suspend on a list of two reads, one of them the pipe read its interrupted thread was asleep on alone in aio_suspend (aio-rs claims such a read), while another thread also waits for that read: the data written meanwhile completes it once, and both the handler's aio_suspend and the other thread's return 0 long before their timeouts */
#include "support/sigtest.h"

enum { INNER_MS = 3000 };

static struct aiocb cb, other;
static char buf[16], obuf[16];
static atomic_int tid, in_handler, outer_ret, outer_errno;
static struct timed_wait inner, third_wait;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    const struct aiocb *list[2] = { &other, &cb };
    atomic_store(&in_handler, 1);
    timed_suspend(list, 2, INNER_MS, &inner);
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

static void *third(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    timed_suspend(list, 1, INNER_MS, &third_wait);
    return NULL;
}

int main(void)
{
    on_signal(SIGUSR1, handler);
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    cb_init(&other, q[0], obuf, sizeof obuf, 0);
    CHECK_EQ(aio_read(&other), 0);
    CHECK_EQ(aio_read(&cb), 0);
    pthread_t t, t3;
    CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
    WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
    wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
    CHECK_EQ(pthread_create(&t3, NULL, third, NULL), 0);
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    WAIT_UNTIL(atomic_load(&in_handler) != 0, DONE_MS);
    write_all(p[1], "ping", 4);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(pthread_join(t3, NULL), 0);
    check_timed_wait_quick(&inner, INNER_MS, "the handler's aio_suspend (the data in the pipe)");
    check_timed_wait_quick(&third_wait, INNER_MS, "the other thread's aio_suspend");
    if (atomic_load(&outer_ret) != 1 && atomic_load(&outer_errno) != EINTR)
        die("the interrupted aio_suspend failed with errno %d (%s)", atomic_load(&outer_errno),
            strerror(atomic_load(&outer_errno)));
    CHECK_DONE_OK(&cb, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(aio_error(&other), EINPROGRESS);
    check_pipe_read_once(p);
    write_all(q[1], "x", 1);
    wait_done(&other);
    CHECK_DONE_OK(&other, 1);
    return 0;
}
