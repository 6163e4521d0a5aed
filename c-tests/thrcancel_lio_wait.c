/* DESCRIPTION: lio_listio(LIO_WAIT) is a cancellation point: a thread waiting in it (or entering it with a cancel pending) is cancelled at once; the requests still complete and can be reaped */
/* GLIBC-XFAIL: glibc waits in lio_listio(LIO_WAIT) with cancellation disabled (POSIX lists lio_listio among the functions that may be cancellation points) */
#include "support/sigtest.h"

static struct aiocb cb;
static atomic_int stage, returned;
static atomic_int tid;

static void *waiter(void *arg)
{
    struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    if (arg)
        pthread_cancel(pthread_self());
    atomic_store(&stage, 1);
    lio_listio(LIO_WAIT, list, 1, NULL);
    atomic_store(&returned, 1);
    return NULL;
}

static void cancel_waiter(int fd_w, int pending)
{
    pthread_t t;
    void *ret = NULL;
    atomic_store(&stage, 0);
    atomic_store(&returned, 0);
    CHECK_EQ(pthread_create(&t, NULL, waiter, pending ? &cb : NULL), 0);
    WAIT_UNTIL(atomic_load(&stage) == 1, DONE_MS);
    if (!pending) {
        wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
        CHECK_EQ(pthread_cancel(t), 0);
    }
    if (join_within(t, 2000, &ret) != 0) {
        /* complete the request so the waiter can return, then fail */
        write_all(fd_w, "unblock", 7);
        join_within(t, DONE_MS, &ret);
        die("lio_listio(LIO_WAIT)%s: a thread cancelled in it was still "
            "there after 2 s", pending ? " with a cancel pending" : "");
    }
    if (atomic_load(&returned))
        die("lio_listio(LIO_WAIT) returned instead of acting on the cancel");
    CHECK(ret == PTHREAD_CANCELED);
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[16];
    for (int pending = 0; pending < 2; pending++) {
        cb_init(&cb, p[0], buf, sizeof buf, 0);
        cb.aio_lio_opcode = LIO_READ;
        cancel_waiter(p[1], pending);
        /* The submitted request is alive: it completes and this thread
         * reaps it. */
        if (aio_error(&cb) == EINPROGRESS)
            write_all(p[1], "reaped", 6);
        else
            die("the cancelled lio_listio's request is not in progress "
                "(aio_error %d)", aio_error(&cb));
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 6);
        CHECK(memcmp(buf, "reaped", 6) == 0);
    }
    return 0;
}
