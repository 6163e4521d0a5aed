/* DESCRIPTION: a pipe read that another thread waits for in aio_suspend, pending while the program closes every descriptor above its own (closefrom over the library's numbers), ends exactly once without losing data, and the waiter returns */
#include "support/fdtest.h"
#include "support/sigtest.h"

static struct aiocb cb;
static atomic_int tid, returned;

static void *waiter(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(8000);
    atomic_store(&tid, gettid());
    while (aio_error(&cb) == EINPROGRESS)
        if (aio_suspend(list, 1, &ts) != 0 && errno != EINTR)
            break;
    atomic_store(&returned, 1);
    return NULL;
}

int main(void)
{
    int p[2];
    make_pipe(p);
    CHECK(p[0] < 64 && p[1] < 64);
    char buf[8] = { 0 };
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, waiter, NULL), 0);
    WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
    wait_thread_sleeping(atomic_load(&tid), &returned, DONE_MS);
    /* The library's descriptors (its duplicate of p[0], its epoll instance, its eventfds) sit
     * above 64; the program's two stay. */
    close_from(64);
    write_all(p[1], "x", 1);
    WAIT_UNTIL(atomic_load(&returned), DONE_MS);
    CHECK_EQ(pthread_join(t, NULL), 0);
    check_x_read_or_left(&cb, buf, p[0]);
    /* Nothing else was taken, and the library works again on the same pipe. */
    char c;
    SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
    SYS(fcntl(p[0], F_SETFL, 0));
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    write_all(p[1], "yz", 2);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2);
    CHECK(memcmp(buf, "yz", 2) == 0);
    return 0;
}
