/* DESCRIPTION: a completion queue descriptor is readable in epoll exactly while completions wait; harvest hands each request out once with its status final and its cookie intact, and waits as its timeout says */
#include "support/ext.h"

#define readable ep_ready

int main(void)
{
    cq_require();
    int q;
    int ep = cq_epoll(&q);
    struct aiocb *got[8];
    struct timespec zero = {0, 0};
    CHECK_EQ(x_cq_harvest(q, got, 8, &zero), 0);
    CHECK(!readable(ep, 0));

    /* a pending pipe read: not readable until data comes */
    int p[2];
    make_pipe(p);
    char buf[16];
    struct aiocb rd;
    cb_init(&rd, p[0], buf, sizeof buf, 0);
    cb_queue(&rd, q);
    rd.aio_sigevent.sigev_value.sival_int = 4242;
    CHECK_EQ(aio_read(&rd), 0);
    CHECK(!readable(ep, 50));
    CHECK_EQ(x_cq_harvest(q, got, 8, &zero), 0);
    write_all(p[1], "hello", 5);
    CHECK(readable(ep, DONE_MS));
    CHECK_EQ(x_cq_harvest(q, got, 8, &zero), 1);
    CHECK(got[0] == &rd);
    CHECK_EQ(aio_error(&rd), 0);
    CHECK_EQ(aio_return(&rd), 5);
    CHECK_EQ(rd.aio_sigevent.sigev_value.sival_int, 4242);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* handed out once: nothing left, and the descriptor goes quiet */
    CHECK_EQ(x_cq_harvest(q, got, 8, &zero), 0);
    cq_quiet(ep, q);

    /* several at once, from a file: one harvest of 2, then the rest */
    int fd = tmp_pattern_file(65536, 7);
    enum { N = 5 };
    static struct aiocb cbs[N];
    static char bufs[N][4096];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], 4096, (off_t)i * 4096);
        cb_queue(&cbs[i], q);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    int seen[N] = {0}, total = 0;
    long long deadline = now_ms() + DONE_MS;
    while (total < N) {
        if (now_ms() > deadline)
            die("only %d of %d harvested", total, N);
        struct timespec ts = ms_ts(1000);
        int k = x_cq_harvest(q, got, total == 0 ? 2 : 8, &ts);
        CHECK(k >= 0 && k <= (total == 0 ? 2 : 8));
        for (int i = 0; i < k; i++) {
            int idx = (int)(got[i] - cbs);
            CHECK(idx >= 0 && idx < N);
            CHECK_EQ(seen[idx], 0);
            seen[idx] = 1;
            CHECK(aio_error(got[i]) != EINPROGRESS);
            CHECK_DONE_OK(got[i], 4096);
            CHECK_PAT(bufs[idx], 4096, (long long)idx * 4096, 7);
        }
        total += k;
    }
    cq_quiet(ep, q);

    /* a timed harvest with nothing coming returns 0 after about its timeout */
    struct aiocb rd2;
    cb_init(&rd2, p[0], buf, sizeof buf, 0);
    cb_queue(&rd2, q);
    CHECK_EQ(aio_read(&rd2), 0);
    long long t0 = now_ms();
    struct timespec ts = ms_ts(120);
    CHECK_EQ(x_cq_harvest(q, got, 8, &ts), 0);
    long long dt = now_ms() - t0;
    if (dt < 100 || dt > 3000)
        die("a 120 ms harvest took %lld ms", dt);
    /* a blocking harvest waits for the request */
    pthread_t t;
    struct late_write lw = {p[1], "late"};
    pthread_create(&t, NULL, late_writer, &lw);
    CHECK_EQ(x_cq_harvest(q, got, 8, NULL), 1);
    CHECK(got[0] == &rd2);
    CHECK_DONE_OK(&rd2, 4);
    pthread_join(t, NULL);
    CHECK_EQ(x_cq_close(q), 0);
    CHECK_ERR(x_cq_harvest(q, got, 8, &zero), EBADF);
    return 0;
}
