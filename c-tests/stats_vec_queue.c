/* DESCRIPTION: the stats count issue 13's requests like any other, each once and in an engine's column (or the caller's, for a plain read the page cache held): aio_readv, aio_read2 with AIO_OP2_VECTORED, lio_listio with LIO_READV, aio_writev, a completion queue's read (harvested), an aio_waitcomplete read, and a queue's read of a closed descriptor (the at-submission column) */
#include "support/ext.h"
#include "support/stats.h"

/* Harvests queue q until cb comes out (bounded). */
static void harvest_one(int q, struct aiocb *cb)
{
    long long deadline = now_ms() + DONE_MS;
    for (;;) {
        struct aiocb *got[2];
        struct timespec ts = ms_ts(100);
        int k = x_cq_harvest(q, got, 2, &ts);
        CHECK(k >= 0 && k <= 1);
        if (k == 1) {
            CHECK(got[0] == cb);
            return;
        }
        if (now_ms() > deadline)
            die("the queue's request was not harvested");
    }
}

int main(void)
{
    cq_require();
    char dir[4096];
    stats_setup(dir, sizeof dir);
    int fd = tmp_pattern_file(8192, 63);
    int wfd = tmp_open(0);

    /* Vectored reads, three ways. */
    static char a[3][100], b[3][50];
    struct aiocb v[3];
    struct iovec iov[3][2];
    for (int k = 0; k < 3; k++) {
        iov[k][0] = (struct iovec){a[k], sizeof a[k]};
        iov[k][1] = (struct iovec){b[k], sizeof b[k]};
        cb_initv(&v[k], fd, iov[k], 2, (off_t)k * 150);
    }
    vec_three_ways(v, 0, 150);
    for (int k = 0; k < 3; k++) {
        CHECK_PAT(a[k], sizeof a[k], k * 150, 63);
        CHECK_PAT(b[k], sizeof b[k], k * 150 + 100, 63);
    }
    /* A vectored write. */
    char w1[10] = "abcdefghij";
    struct iovec wiov[1] = {{w1, sizeof w1}};
    struct aiocb w;
    cb_initv(&w, wfd, wiov, 1, 0);
    CHECK_EQ(x_aio_writev(&w), 0);
    wait_done(&w);
    CHECK_DONE_OK(&w, sizeof w1);

    /* A completion queue's read, an aio_waitcomplete read, a queue's read of a closed number. */
    int q = x_cq_create(0);
    CHECK(q >= 0);
    char qb[64], wb[64], xb[8];
    struct aiocb qr, wr, bad;
    cb_init(&qr, fd, qb, sizeof qb, 0);
    cb_queue(&qr, q);
    CHECK_EQ(aio_read(&qr), 0);
    harvest_one(q, &qr);
    CHECK_DONE_OK(&qr, sizeof qb);
    cb_init(&wr, fd, wb, sizeof wb, 64);
    cb_queue(&wr, AIO_RS_WAITCOMPLETE_QUEUE);
    CHECK_EQ(aio_read(&wr), 0);
    struct aiocb *got = NULL;
    struct timespec ts = ms_ts(DONE_MS);
    CHECK_EQ(x_aio_waitcomplete(&got, &ts), (ssize_t)sizeof wb);
    CHECK(got == &wr);
    cb_init(&bad, closed_fd(), xb, sizeof xb, 0);
    cb_queue(&bad, q);
    CHECK_EQ(aio_read(&bad), 0);
    harvest_one(q, &bad);
    CHECK_EQ(aio_error(&bad), EBADF);

    char path[8192];
    struct stats s;
    stats_path(path, sizeof path, dir, getpid());
    if (!stats_read(path, &s))
        die("no stats file %s", path);
    unsigned long long total = 3 + 1 + 3;
    unsigned long long served = stats_sum(&s, ST_URING) + stats_sum(&s, ST_KAIO) + stats_sum(&s, ST_WORKERS) +
                                stats_sum(&s, ST_CALLER);
    printf("submitted %llu completed %llu served %llu at-submit %llu\n", stats_sum(&s, ST_SUBMITTED),
           stats_sum(&s, ST_COMPLETED), served, stats_sum(&s, ST_AT_SUBMIT));
    CHECK_EQ(stats_sum(&s, ST_SUBMITTED), total);
    CHECK_EQ(stats_sum(&s, ST_COMPLETED), total);
    CHECK_EQ(stats_sum(&s, ST_IN_FLIGHT), 0);
    CHECK_EQ(stats_sum(&s, ST_AT_SUBMIT), 1);
    CHECK_EQ(stats_sum(&s, ST_UNISSUED), 0);
    CHECK_EQ(stats_sum(&s, ST_CANCELLED), 0);
    CHECK_EQ(served, total - 1);
    CHECK_EQ(x_cq_close(q), 0);
    stats_cleanup(dir);
    return 0;
}
