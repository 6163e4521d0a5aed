/* DESCRIPTION: while one thread sleeps in aio_suspend on its lone pipe read (which aio-rs claims), it is cancelled (pthread_cancel) and another thread calls aio_cancel on the read at the same moment: AIO_CANCELED leaves the read ECANCELED and the pipe's data for the next reader; otherwise the read completes once with the data; the cancelled thread's cleanup handler runs */
#include "support/sigtest.h"

enum { ROUNDS = 20 };

static struct aiocb cb;
static char buf[16];
static atomic_int tid, cleaned, go, said;

static void cleanup(void *arg)
{
    (void)arg;
    atomic_store(&cleaned, 1);
}

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup, NULL);
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    aio_suspend(list, 1, NULL);
    /* The aio_cancel may complete the read before the cancel request arrives, and the call
     * then returns normally: the cancel, already sent when main joins, is acted on here. */
    pthread_testcancel();
    pthread_cleanup_pop(0);
    return NULL;
}

static void *canceller(void *arg)
{
    (void)arg;
    long long deadline = now_ms() + DONE_MS;
    while (!atomic_load(&go))
        if (now_ms() > deadline)
            return NULL;
    atomic_store(&said, aio_cancel(cb.aio_fildes, &cb));
    return NULL;
}

int main(void)
{
    int canceled = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        make_pipe(p);
        memset(buf, 0, sizeof buf);
        atomic_store(&tid, 0);
        atomic_store(&cleaned, 0);
        atomic_store(&go, 0);
        atomic_store(&said, -2);
        cb_init(&cb, p[0], buf, sizeof buf, 0);
        CHECK_EQ(aio_read(&cb), 0);
        pthread_t t, c;
        CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
        CHECK_EQ(pthread_create(&c, NULL, canceller, NULL), 0);
        WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
        wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
        atomic_store(&go, 1);
        CHECK_EQ(pthread_cancel(t), 0);
        void *ret = NULL;
        CHECK_EQ(pthread_join(t, &ret), 0);
        CHECK_EQ(pthread_join(c, NULL), 0);
        CHECK(ret == PTHREAD_CANCELED);
        CHECK_EQ(atomic_load(&cleaned), 1);
        int s = atomic_load(&said);
        write_all(p[1], "ping", 4);
        if (s == AIO_CANCELED) {
            canceled++;
            CHECK_EQ(aio_error(&cb), ECANCELED);
            CHECK_EQ(aio_return(&cb), -1);
            char back[4];
            read_all(p[0], back, 4);
            CHECK(memcmp(back, "ping", 4) == 0);
            CHECK(buf[0] == 0);
        } else if (s == AIO_NOTCANCELED) {
            wait_done(&cb);
            CHECK_DONE_OK(&cb, 4);
            CHECK(memcmp(buf, "ping", 4) == 0);
        } else {
            die("round %d: aio_cancel returned %d", round, s);
        }
        SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
        char x;
        CHECK_ERR(read(p[0], &x, 1), EAGAIN);
        close(p[0]);
        close(p[1]);
    }
    printf("%d of %d cancelled\n", canceled, ROUNDS);
    return 0;
}
