/* DESCRIPTION: aio_suspend is a cancellation point: a thread asleep in it (no timeout, a timeout, or a cancel already pending) is cancelled at once, and another thread then reaps the request */
#include "support/sigtest.h"

static struct aiocb cb;
static atomic_int stage, returned;
static atomic_int tid;

enum variant { NO_TIMEOUT, TIMEOUT, ALREADY_PENDING };

static void *sleeper(void *arg)
{
    enum variant v = (enum variant)(long)arg;
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(8000);
    atomic_store(&tid, gettid());
    if (v == ALREADY_PENDING)
        pthread_cancel(pthread_self());
    atomic_store(&stage, 1);
    aio_suspend(list, 1, v == TIMEOUT ? &ts : NULL);
    /* reached only if aio_suspend returned instead of being cancelled */
    atomic_store(&returned, 1);
    return NULL;
}

/* Cancels a thread asleep in aio_suspend on the pending cb; it must be
 * gone within 2 s although no I/O completes. */
static void cancel_sleeper(enum variant v)
{
    static const char *name[] = { "no timeout", "8 s timeout",
                                  "cancel pending on entry" };
    pthread_t t;
    void *ret = NULL;
    atomic_store(&stage, 0);
    atomic_store(&returned, 0);
    CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(long)v), 0);
    WAIT_UNTIL(atomic_load(&stage) == 1, DONE_MS);
    long long t0 = now_ms();
    if (v != ALREADY_PENDING) {
        wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
        t0 = now_ms();
        CHECK_EQ(pthread_cancel(t), 0);
    }
    int r = join_within(t, 2000, &ret);
    if (r != 0)
        die("aio_suspend (%s): a thread cancelled in it was still there "
            "after 2 s", name[v]);
    if (atomic_load(&returned))
        die("aio_suspend (%s) returned (aio_error %d) instead of acting on "
            "the cancel", name[v], aio_error(&cb));
    CHECK(ret == PTHREAD_CANCELED);
    printf("aio_suspend (%s): cancelled after %lld ms\n", name[v],
           now_ms() - t0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[16];
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    cancel_sleeper(NO_TIMEOUT);
    cancel_sleeper(TIMEOUT);
    cancel_sleeper(ALREADY_PENDING);

    /* The cancelled waiters left nothing behind: this thread waits for and
     * reaps the same request. */
    write_all(p[1], "reaped", 6);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 6);
    CHECK(memcmp(buf, "reaped", 6) == 0);

    /* And a request whose waiter was cancelled can be cancelled. */
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    cancel_sleeper(NO_TIMEOUT);
    int c = aio_cancel(p[0], &cb);
    if (c == AIO_CANCELED) {
        CHECK_EQ(aio_error(&cb), ECANCELED);
        CHECK_EQ(aio_return(&cb), -1);
    } else {
        /* glibc cannot cancel a read its worker is blocked in */
        CHECK_EQ(c, AIO_NOTCANCELED);
        write_all(p[1], "late", 4);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 4);
    }
    return 0;
}
