/* DESCRIPTION: pthread_cancel of a thread in aio_suspend on a list of only NULL entries, before any AIO in the process, cancels it (or it has returned) without killing the process */
#include "support/sigtest.h"

static atomic_int tid, returned;

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[2] = { NULL, NULL };
    struct timespec ts = ms_ts(8000);
    atomic_store(&tid, gettid());
    aio_suspend(list, 2, &ts);
    atomic_store(&returned, 1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *ret = NULL;
    CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
    WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
    /* glibc returns at once for such a list; a library that waits must
     * still act on the cancel */
    wait_thread_sleeping(atomic_load(&tid), &returned, DONE_MS);
    CHECK_EQ(pthread_cancel(t), 0);
    if (join_within(t, 2000, &ret) != 0)
        die("a thread cancelled in aio_suspend was still there after 2 s");
    if (!atomic_load(&returned))
        CHECK(ret == PTHREAD_CANCELED);
    return 0;
}
