/* DESCRIPTION: another thread's aio_suspend completes reads that the submitting thread deferred and never asks about */
#include "support/defer.h"
#include <pthread.h>

#define SEED 42
enum { N = 4, SZ = 8192 };
static char buf[N][SZ];
static struct aiocb cb[N];
static atomic_int submitted;

static void *waiter(void *arg)
{
    (void)arg;
    while (!atomic_load(&submitted))
        sched_yield();
    for (int i = N - 1; i >= 0; i--)
        wait_done(&cb[i]);
    return NULL;
}

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, waiter, NULL), 0);
    for (int i = 0; i < N; i++) {
        cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (5 * i + 1));
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    atomic_store(&submitted, 1);
    /* This thread calls nothing of the library until the waiter is done. */
    CHECK_EQ(pthread_join(t, NULL), 0);
    for (int i = 0; i < N; i++) {
        CHECK_DONE_OK(&cb[i], SZ);
        CHECK_PAT(buf[i], SZ, (long long)SZ * (5 * i + 1), SEED);
    }
    return 0;
}
