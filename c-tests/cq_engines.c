/* DESCRIPTION: every kind of request reaches its completion queue on every engine: file and O_DIRECT reads, vectored writes, pipe reads, fsync, a cancelled read, lio_listio entries; each is harvested once, woken through epoll */
#include "support/ext.h"

#define BLK 4096
enum { MAXR = 16 };
static struct aiocb *all[MAXR];
static int nall;

static void add(struct aiocb *cb, int q)
{
    cb_queue(cb, q);
    all[nall++] = cb;
}

int main(void)
{
    cq_require();
    int q;
    int ep = cq_epoll(&q);
    int fd = tmp_pattern_file(1 << 16, 5);
    int dfd = tmp_open(O_DIRECT);
    char *dbuf;
    CHECK_EQ(posix_memalign((void **)&dbuf, BLK, 2 * BLK), 0);
    if (dfd >= 0) {
        pat_fill(dbuf, 2 * BLK, 0, 6);
        SYS(pwrite(dfd, dbuf, 2 * BLK, 0));
    }
    int p[2];
    make_pipe(p);
    static char b[8][BLK];
    struct aiocb rd, drd, wv, prd, fs, cancelled, l1, l2;
    struct iovec iov[2] = {{b[2], 100}, {b[3], 200}};
    cb_init(&rd, fd, b[0], BLK, BLK);
    add(&rd, q);
    CHECK_EQ(aio_read(&rd), 0);
    if (dfd >= 0) {
        cb_init(&drd, dfd, dbuf + BLK, BLK, 0);
        add(&drd, q);
        CHECK_EQ(aio_read(&drd), 0);
    }
    int wfd = tmp_open(0);
    cb_initv(&wv, wfd, iov, 2, 0);
    add(&wv, q);
    CHECK_EQ(x_aio_writev(&wv), 0);
    cb_init(&fs, wfd, NULL, 0, 0);
    add(&fs, q);
    CHECK_EQ(aio_fsync(O_DSYNC, &fs), 0);
    cb_init(&prd, p[0], b[4], 5, 0);
    add(&prd, q);
    CHECK_EQ(aio_read(&prd), 0);
    cb_init(&cancelled, p[0], b[5], 5, 0);
    add(&cancelled, q);
    CHECK_EQ(aio_read(&cancelled), 0);
    CHECK_EQ(aio_cancel(p[0], &cancelled), AIO_CANCELED);
    cb_init(&l1, fd, b[6], 10, 0);
    l1.aio_lio_opcode = LIO_READ;
    add(&l1, q);
    struct iovec liov[1] = {{b[7], 20}};
    cb_initv(&l2, fd, liov, 1, 30);
    l2.aio_lio_opcode = LIO_READV;
    add(&l2, q);
    struct aiocb *list[] = {&l1, &l2};
    CHECK_EQ(lio_listio(LIO_NOWAIT, list, 2, NULL), 0);
    write_all(p[1], "pipe!", 5);

    int got_n = 0;
    long long deadline = now_ms() + DONE_MS;
    while (got_n < nall) {
        if (now_ms() > deadline)
            die("%d of %d harvested", got_n, nall);
        ep_ready(ep, 100);
        struct aiocb *v[MAXR];
        struct timespec zero = {0, 0};
        int k = x_cq_harvest(q, v, MAXR, &zero);
        CHECK(k >= 0);
        for (int i = 0; i < k; i++) {
            int j = 0;
            while (j < nall && all[j] != v[i])
                j++;
            if (j == nall)
                die("harvested an aiocb that is not ours, or twice");
            CHECK(aio_error(v[i]) != EINPROGRESS);
            all[j] = NULL;
        }
        got_n += k;
    }
    CHECK_DONE_OK(&rd, BLK);
    CHECK_PAT(b[0], BLK, BLK, 5);
    if (dfd >= 0) {
        CHECK_DONE_OK(&drd, BLK);
        CHECK_PAT(dbuf + BLK, BLK, 0, 6);
    }
    CHECK_DONE_OK(&wv, 300);
    CHECK_DONE_OK(&fs, 0);
    CHECK_DONE_OK(&prd, 5);
    CHECK_EQ(aio_error(&cancelled), ECANCELED);
    CHECK_DONE_OK(&l1, 10);
    CHECK_DONE_OK(&l2, 20);
    CHECK_PAT(b[7], 20, 30, 5);
    struct timespec zero = {0, 0};
    struct aiocb *v[2];
    CHECK_EQ(x_cq_harvest(q, v, 2, &zero), 0);
    return 0;
}
