/* DESCRIPTION: aio_suspend skips NULL entries in its list and wakes for the real request */
#include "support/common.h"

static void *writer(void *arg)
{
    /* let the main thread get into aio_suspend first (not required) */
    pause_us(20000);
    write_all(*(int *)arg, "wake", 4);
    return NULL;
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[8];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *list[5] = { NULL, NULL, &cb, NULL, NULL };
    struct timespec zero = { 0, 0 };
    CHECK_ERR(aio_suspend(list, 5, &zero), EAGAIN);

    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, writer, &p[1]), 0);
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(&cb) == EINPROGRESS) {
        struct timespec ts = ms_ts(1000);
        int r = aio_suspend(list, 5, &ts);
        if (r != 0 && errno != EAGAIN)
            die("aio_suspend");
        if (now_ms() > deadline)
            die("request never seen as done");
    }
    pthread_join(th, NULL);
    CHECK_DONE_OK(&cb, 4);
    CHECK_EQ(aio_suspend(list, 5, &zero), 0);
    return 0;
}
