/* DESCRIPTION: pipe reads for a completion queue that was harvested before but is not harvested any more still complete, seen by aio_error polling and by aio_suspend on several requests (each with a bound), and the queue then hands each out once */
#include "support/ext.h"
#include <pthread.h>
#include <sys/epoll.h>

enum { WARM = 50, LEN = 8 };

/* A few ping-pong rounds through the queue, harvested (the queue looks in use). */
static void warm_up(int q, int p[2])
{
    for (int i = 0; i < WARM; i++)
        cq_pipe_round_trip(q, p);
}

int main(void)
{
    cq_require();
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int a[2], b[2], c[2];
    make_pipe(a);
    make_pipe(b);
    make_pipe(c);
    warm_up(q, a);

    /* aio_error polling only. */
    struct aiocb one;
    char buf1[LEN];
    cb_init(&one, a[0], buf1, LEN, 0);
    cb_queue(&one, q);
    CHECK_EQ(aio_read(&one), 0);
    write_all(a[1], "polled!", LEN);
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(&one) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("a read nobody harvests did not complete (aio_error)");
        pause_us(200);
    }
    CHECK_DONE_OK(&one, LEN);
    CHECK_EQ(memcmp(buf1, "polled!", LEN), 0);

    /* aio_suspend on two requests, one of which completes. */
    struct aiocb two[2];
    char buf2[2][LEN];
    cb_init(&two[0], b[0], buf2[0], LEN, 0);
    cb_init(&two[1], c[0], buf2[1], LEN, 0);
    cb_queue(&two[0], q);
    cb_queue(&two[1], q);
    CHECK_EQ(aio_read(&two[0]), 0);
    CHECK_EQ(aio_read(&two[1]), 0);
    write_all(b[1], "suspend", LEN);
    const struct aiocb *list[] = {&two[0], &two[1]};
    deadline = now_ms() + DONE_MS;
    while (aio_error(&two[0]) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("a read nobody harvests did not complete (aio_suspend)");
        struct timespec ts = ms_ts(DONE_MS);
        if (aio_suspend(list, 2, &ts) != 0 && errno != EINTR && errno != EAGAIN)
            die("aio_suspend");
    }
    CHECK_DONE_OK(&two[0], LEN);
    CHECK_EQ(aio_error(&two[1]), EINPROGRESS);
    write_all(c[1], "second", LEN);
    wait_done(&two[1]);
    CHECK_DONE_OK(&two[1], LEN);

    /* The queue hands each out once. */
    struct aiocb *got[4];
    int seen[3] = {0, 0, 0}, total = 0;
    struct timespec ts = ms_ts(DONE_MS);
    while (total < 3) {
        int k = x_cq_harvest(q, got, 4, &ts);
        if (k <= 0)
            die("harvest after completion: %d", k);
        for (int i = 0; i < k; i++) {
            int idx = got[i] == &one ? 0 : got[i] == &two[0] ? 1 : got[i] == &two[1] ? 2 : -1;
            CHECK(idx >= 0);
            seen[idx]++;
        }
        total += k;
    }
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    struct timespec zero = {0, 0};
    CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
