/* DESCRIPTION: close_range over every descriptor of the library (its rings, its eventfds, a completion queue's own epoll duplicate and eventfd) while the program keeps its queue: the next harvest makes them again (it returns 0, not EBADF), and from then on file, O_DIRECT, pipe and vectored requests wake the program's epoll_wait on the queue by themselves, round after round (a kernel AIO eventfd made again is put in the queue's set); the aio_waitcomplete queue, whose descriptors are all the library's, keeps its requests too */
#include "support/ext.h"
#include <sys/syscall.h>

#define BLK 4096
enum { ROUNDS = 4, MAXR = 4 };


static int fd, dfd, wfd, p[2];
static char *dbuf;

/* Closes every descriptor from `first` up: the library's are all above the test's. */
static void close_from(int first)
{
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) != 0)
        die("close_range");
}

/* Waits for cb, the one request of queue q in flight, to be harvested, only after the program's
 * epoll set (ep, holding q) said the queue is readable: nothing else looks for completions, so
 * the request's own completion source must have woken the set. */
static void await_one(int ep, int q, struct aiocb *cb, int r, const char *what)
{
    long long deadline = now_ms() + DONE_MS;
    for (;;) {
        if (now_ms() > deadline)
            die("round %d: the %s was not harvested: the queue's epoll set was not woken", r, what);
        if (!ep_ready(ep, 100))
            continue;
        struct aiocb *v[2];
        struct timespec zero = {0, 0};
        int k = x_cq_harvest(q, v, 2, &zero);
        CHECK(k >= 0 && k <= 1);
        if (k == 1) {
            if (v[0] != cb)
                die("round %d: harvested an aiocb that is not the %s", r, what);
            return;
        }
    }
}

/* One round: each kind of request for queue q, one at a time. */
static void one_round(int ep, int q, int r)
{
    static char b[3][BLK];
    struct aiocb rd, drd, wv, prd;
    cb_init(&rd, fd, b[0], BLK, (off_t)r * BLK);
    cb_queue(&rd, q);
    CHECK_EQ(aio_read(&rd), 0);
    await_one(ep, q, &rd, r, "file read");
    CHECK_DONE_OK(&rd, BLK);
    CHECK_PAT(b[0], BLK, (long long)r * BLK, 5);
    if (dfd >= 0) {
        memset(dbuf + BLK, 0, BLK);
        cb_init(&drd, dfd, dbuf + BLK, BLK, 0);
        cb_queue(&drd, q);
        CHECK_EQ(aio_read(&drd), 0);
        await_one(ep, q, &drd, r, "O_DIRECT read");
        CHECK_DONE_OK(&drd, BLK);
        CHECK_PAT(dbuf + BLK, BLK, 0, 6);
    }
    char w1[7], w2[9];
    pat_fill(w1, sizeof w1, 0, 20 + r);
    pat_fill(w2, sizeof w2, sizeof w1, 20 + r);
    struct iovec iov[2] = {{w1, sizeof w1}, {w2, sizeof w2}};
    cb_initv(&wv, wfd, iov, 2, (off_t)r * 16);
    cb_queue(&wv, q);
    CHECK_EQ(x_aio_writev(&wv), 0);
    await_one(ep, q, &wv, r, "vectored write");
    CHECK_DONE_OK(&wv, 16);
    char back[16];
    CHECK_EQ(pread(wfd, back, 16, (off_t)r * 16), 16);
    CHECK_PAT(back, 16, 0, 20 + r);
    cb_init(&prd, p[0], b[2], 5, 0);
    cb_queue(&prd, q);
    CHECK_EQ(aio_read(&prd), 0);
    char msg[6];
    snprintf(msg, sizeof msg, "pipe%d", r);
    write_all(p[1], msg, 5);
    await_one(ep, q, &prd, r, "pipe read");
    CHECK_DONE_OK(&prd, 5);
    CHECK(memcmp(b[2], msg, 5) == 0);
}

/* One request for the aio_waitcomplete queue, waited for with aio_waitcomplete. */
static void waitcomplete_one(int r)
{
    static char b[100];
    struct aiocb cb;
    cb_init(&cb, fd, b, sizeof b, 100 * r);
    cb_queue(&cb, AIO_RS_WAITCOMPLETE_QUEUE);
    CHECK_EQ(aio_read(&cb), 0);
    struct aiocb *got = NULL;
    struct timespec ts = ms_ts(DONE_MS);
    CHECK_EQ(x_aio_waitcomplete(&got, &ts), (ssize_t)sizeof b);
    CHECK(got == &cb);
    CHECK_PAT(b, sizeof b, 100 * r, 5);
    struct timespec zero = {0, 0};
    CHECK_ERR(x_aio_waitcomplete(&got, &zero), EAGAIN);
}

int main(void)
{
    cq_require();
    fd = tmp_pattern_file((ROUNDS + 1) * BLK, 5);
    dfd = tmp_open(O_DIRECT);
    CHECK_EQ(posix_memalign((void **)&dbuf, BLK, 2 * BLK), 0);
    if (dfd >= 0) {
        pat_fill(dbuf, 2 * BLK, 0, 6);
        SYS(pwrite(dfd, dbuf, 2 * BLK, 0));
    }
    if (dfd < 0)
        printf("no O_DIRECT in the temporary directory: kernel AIO not exercised\n");
    wfd = tmp_open(0);
    make_pipe(p);
    int q;
    int ep = cq_epoll(&q);
    int top = 0;
    int mine[] = {fd, dfd, wfd, p[0], p[1], q, ep};
    for (unsigned i = 0; i < sizeof mine / sizeof mine[0]; i++)
        if (mine[i] > top)
            top = mine[i];

    /* Everything in place: the library's engine, the queue's sources, the waitcomplete queue. */
    one_round(ep, q, 0);
    waitcomplete_one(0);

    close_from(top + 1);

    /* The program's queue is still its own: a harvest makes the library's descriptors again. */
    struct aiocb *v[MAXR];
    struct timespec ts = ms_ts(20);
    CHECK_EQ(x_cq_harvest(q, v, MAXR, &ts), 0);
    /* And the aio_waitcomplete queue lost nothing: its next request is waited for as usual. */
    waitcomplete_one(1);

    for (int r = 1; r <= ROUNDS; r++)
        one_round(ep, q, r);
    waitcomplete_one(2);
    return 0;
}
