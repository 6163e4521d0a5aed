/* DESCRIPTION: 40 SIGEV_THREAD callbacks that end with pthread_exit() all run, and SIGEV_THREAD notifications are still delivered after them */
#define TEST_ALARM 20
#include "support/fdtest.h"

#define NEXIT 40
#define NAFTER 40

static atomic_int exited, normal;

static void exiting_cb(union sigval v)
{
    (void)v;
    atomic_fetch_add(&exited, 1);
    pthread_exit(NULL);
}

static void normal_cb(union sigval v)
{
    (void)v;
    atomic_fetch_add(&normal, 1);
}

static void submit(int fd, struct aiocb *cb, char *buf, int i,
                   void (*fn)(union sigval))
{
    cb_init(cb, fd, buf, 64, (off_t)i * 64);
    cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
    cb->aio_sigevent.sigev_notify_function = fn;
    cb->aio_sigevent.sigev_value.sival_int = i;
    if (aio_read(cb) != 0)
        die("aio_read #%d", i);
}

int main(void)
{
    int f = tmp_pattern_file(NEXIT * 64, 81);
    static struct aiocb cbs[NEXIT];
    static char bufs[NEXIT][64];
    /* one at a time, then a batch: both ways of filling a pool */
    for (int i = 0; i < NEXIT / 2; i++) {
        submit(f, &cbs[i], bufs[i], i, exiting_cb);
        long long deadline = now_ms() + DONE_MS;
        while (atomic_load(&exited) < i + 1)
            if (now_ms() > deadline)
                die("callback %d (after %d that called pthread_exit) did not "
                    "run within %d ms", i, i, DONE_MS);
            else
                pause_us(200);
    }
    for (int i = NEXIT / 2; i < NEXIT; i++)
        submit(f, &cbs[i], bufs[i], i, exiting_cb);
    long long deadline = now_ms() + DONE_MS;
    while (atomic_load(&exited) < NEXIT)
        if (now_ms() > deadline)
            die("%d of %d callbacks that call pthread_exit ran",
                atomic_load(&exited), NEXIT);
        else
            pause_us(200);
    for (int i = 0; i < NEXIT; i++) {
        CHECK_DONE_OK(&cbs[i], 64);
        CHECK_PAT(bufs[i], 64, (long long)i * 64, 81);
    }

    /* later notifications are still delivered */
    for (int i = 0; i < NAFTER; i++)
        submit(f, &cbs[i], bufs[i], i, normal_cb);
    deadline = now_ms() + DONE_MS;
    while (atomic_load(&normal) < NAFTER)
        if (now_ms() > deadline)
            die("after %d callbacks that called pthread_exit, %d of %d "
                "SIGEV_THREAD notifications arrived", NEXIT,
                atomic_load(&normal), NAFTER);
        else
            pause_us(200);
    pause_us(20000);
    CHECK_EQ(atomic_load(&normal), NAFTER);
    CHECK_EQ(atomic_load(&exited), NEXIT);
    return 0;
}
