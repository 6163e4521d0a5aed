/* DESCRIPTION: a thread cancelled while asleep in aio_suspend on a pending pipe read leaves the read pending: it completes exactly once, with the data, when the data arrives */
#include "support/sigtest.h"

static struct aiocb cb;
static atomic_int tid, returned;

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    aio_suspend(list, 1, NULL);
    atomic_store(&returned, 1);
    return NULL;
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[16] = { 0 };
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
    WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
    wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
    CHECK_EQ(pthread_cancel(t), 0);
    void *ret = NULL;
    CHECK_EQ(pthread_join(t, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK_EQ(atomic_load(&returned), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "ping", 4);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    check_pipe_read_once(p);
    return 0;
}
