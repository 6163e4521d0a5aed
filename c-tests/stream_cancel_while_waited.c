/* DESCRIPTION: a pipe or socket read that another thread is waiting for in aio_suspend is cancelled by aio_cancel from a second thread (by its aiocb and by its descriptor): AIO_CANCELED, ECANCELED, the waiter returns, and the data written afterwards is left for the next reader */
/* GLIBC-XFAIL: glibc cannot cancel a request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/sigtest.h"
#include "support/stream.h"

struct waiter {
    struct aiocb *cb;
    atomic_int tid, gone;
    int rc, err;
};

static void *wait_for_it(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->tid, (int)gettid());
    const struct aiocb *list[1] = { w->cb };
    struct timespec ts = { 10, 0 };
    w->rc = aio_suspend(list, 1, &ts);
    w->err = errno;
    atomic_store(&w->gone, 1);
    return NULL;
}

static void round_trip(int rd, int wr, int by_fd, const char *what)
{
    char buf[16];
    struct aiocb cb;
    cb_init(&cb, rd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    struct waiter w = { .cb = &cb };
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, wait_for_it, &w), 0);
    WAIT_UNTIL(atomic_load(&w.tid) != 0, DONE_MS);
    if (wait_thread_sleeping(atomic_load(&w.tid), &w.gone, DONE_MS) != 0)
        die("%s: the waiter never slept", what);
    int r = by_fd ? aio_cancel(rd, NULL) : aio_cancel(rd, &cb);
    if (r != AIO_CANCELED) {
        write_all(wr, "unblock", 7);
        join_within(t, DONE_MS, NULL);
        die("%s: aio_cancel returned %d while another thread waited, expected AIO_CANCELED", what, r);
    }
    CHECK_EQ(aio_error(&cb), ECANCELED);
    CHECK_EQ(aio_return(&cb), -1);
    if (join_within(t, DONE_MS, NULL) != 0)
        die("%s: the waiter did not return after the cancel", what);
    CHECK_EQ(w.rc, 0);
    /* The cancelled read took nothing: the next write is there for a plain read. */
    write_all(wr, "after", 5);
    char back[5];
    read_all(rd, back, 5);
    CHECK(memcmp(back, "after", 5) == 0);
}

int main(void)
{
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    round_trip(p[0], p[1], 0, "pipe, by aiocb");
    round_trip(p[0], p[1], 1, "pipe, by descriptor");
    round_trip(s[0], s[1], 0, "socket, by aiocb");
    round_trip(s[0], s[1], 1, "socket, by descriptor");
    return 0;
}
