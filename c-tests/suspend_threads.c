/* DESCRIPTION: 4 threads x 2000 rounds of aio_read + aio_suspend on their own requests never lose a wake-up */
#include "support/common.h"

#define THREADS 4
#define ROUNDS 2000

static int fd;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char buf[256];
    struct aiocb cb;
    for (int i = 0; i < ROUNDS; i++) {
        long long off = ((long long)(id * ROUNDS + i) * 613) % (1 << 20);
        cb_init(&cb, fd, buf, sizeof buf, off);
        if (aio_read(&cb) != 0)
            die("thread %d round %d: aio_read", id, i);
        const struct aiocb *list[1] = { &cb };
        while (aio_error(&cb) == EINPROGRESS) {
            /* a lost wake-up shows up as a 2 s timeout */
            struct timespec ts = ms_ts(2000);
            int r = aio_suspend(list, 1, &ts);
            if (r == 0 && aio_error(&cb) == EINPROGRESS)
                die("thread %d: aio_suspend returned 0 with nothing done", id);
            if (r != 0) {
                if (errno == EAGAIN)
                    die("thread %d round %d: aio_suspend timed out while "
                        "the request was %s", id, i,
                        aio_error(&cb) == EINPROGRESS ? "pending" : "done");
                if (errno != EINTR)
                    die("aio_suspend");
            }
        }
        CHECK_DONE_OK(&cb, sizeof buf);
        CHECK_PAT(buf, sizeof buf, off, 22);
    }
    return NULL;
}

int main(void)
{
    fd = tmp_pattern_file((1 << 20) + 4096, 22);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    return 0;
}
