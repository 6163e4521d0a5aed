/* DESCRIPTION: pthread_cancel of a thread whose signal handler waits in aio_suspend on the pipe read the interrupted aio_suspend was asleep on alone (claimed by aio-rs): the thread is cancelled in the handler's wait, within a bound, and the read then completes exactly once for another thread's aio_suspend */
#include "support/sigtest.h"

static struct aiocb cb;
static char buf[8];
static atomic_int tid, in_handler;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(4 * DONE_MS);
    atomic_store(&in_handler, 1);
    (void)aio_suspend(list, 1, &ts);
}

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    struct timespec ts = ms_ts(4 * DONE_MS);
    for (;;)
        (void)aio_suspend(list, 1, &ts);
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
    wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
    CHECK_EQ(pthread_cancel(t), 0);
    void *ret = NULL;
    CHECK_EQ(join_within(t, DONE_MS, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "ping", 4);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    check_pipe_read_once(p);
    return 0;
}
