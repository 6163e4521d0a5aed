/* DESCRIPTION: a completion queue closed with aio_rs_cq_close, close() or close_range while requests point at it: the requests complete (status in aio_error), nothing is written to files that reuse its descriptor numbers, and a new queue works */
#include "support/ext.h"
#include <sys/epoll.h>
#include <sys/syscall.h>

enum { R = 6 };

/* Submits R pending pipe reads for queue q. */
static void pending_reads(int rfd, int q, struct aiocb *cbs, char (*bufs)[8])
{
    for (int i = 0; i < R; i++) {
        cb_init(&cbs[i], rfd, bufs[i], 8, 0);
        cb_queue(&cbs[i], q);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
}

/* Feeds them and checks they all complete. With `lost_dups`, the program closed the library's
 * descriptors too: a read that a worker had not started holds a duplicate of the pipe that was
 * closed with them, and ends with ECANCELED, having touched nothing (aio_rs(7), closefrom); one
 * the kernel has (io_uring) completes. */
static void finish_reads_after(int wfd, struct aiocb *cbs, int lost_dups)
{
    for (int i = 0; i < R; i++)
        write_all(wfd, "12345678", 8);
    for (int i = 0; i < R; i++) {
        wait_done(&cbs[i]);
        if (lost_dups && aio_error(&cbs[i]) == ECANCELED)
            continue;
        CHECK_DONE_OK(&cbs[i], 8);
    }
}

static void finish_reads(int wfd, struct aiocb *cbs) { finish_reads_after(wfd, cbs, 0); }

/* One file on every number from `from` up to `to` that is free (duplicates of one temporary
 * file: a write through any of them shows in its size); returns how many numbers were filled.
 * (A file of its own per number cost an O_TMPFILE open each, 1.8 ms on the reference machine:
 * the test's 1100 took 2 of its 2.5 s, and at load 8 the 10 s watchdog.) */
static int fill(int from, int to, int *fds, int max)
{
    int n = 0, src = -1, src_used = 0;
    for (int fd = from; fd <= to && n < max; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        if (src < 0) {
            /* Lands below `from` or at `fd` (every free number between is filled already). */
            src = tmp_open(0);
            if (src == fd) {
                src_used = 1;
                fds[n++] = fd;
                continue;
            }
        }
        SYS(dup2(src, fd));
        fds[n++] = fd;
    }
    if (src >= 0 && !src_used)
        close(src);
    return n;
}

static void check_empty(const int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        SYS(fstat(fds[i], &st));
        if (st.st_size != 0)
            die("fd %d, which reused a queue's number, got %lld bytes", fds[i], (long long)st.st_size);
    }
}

int main(void)
{
    cq_require();
    int p[2];
    make_pipe(p);
    static struct aiocb cbs[R];
    static char bufs[R][8];
    struct aiocb *got[8];
    struct timespec zero = {0, 0};
    /* warm the engine up first, so its own descriptors sit below the queues' */
    struct aiocb warm;
    char wb[8];
    int wf = tmp_pattern_file(4096, 1);
    cb_init(&warm, wf, wb, sizeof wb, 0);
    CHECK_EQ(aio_read(&warm), 0);
    wait_done(&warm);

    /* 1. aio_rs_cq_close */
    int q = x_cq_create(0);
    CHECK(q >= 0);
    pending_reads(p[0], q, cbs, bufs);
    CHECK_EQ(x_cq_close(q), 0);
    CHECK_ERR(x_cq_harvest(q, got, 8, &zero), EBADF);
    static int fds[4096];
    int n = fill(q, q, fds, 1);
    CHECK_EQ(n, 1);
    finish_reads(p[1], cbs);
    check_empty(fds, n);
    close(fds[0]);

    /* 2. plain close(), the number reused by a file */
    q = x_cq_create(0);
    pending_reads(p[0], q, cbs, bufs);
    SYS(close(q));
    n = fill(q, q, fds, 1);
    CHECK_ERR(x_cq_harvest(q, got, 8, &zero), EBADF);
    finish_reads(p[1], cbs);
    check_empty(fds, n);
    close(fds[0]);

    /* 3. close_range over the queue and everything above it, then files on all those numbers */
    q = x_cq_create(0);
    pending_reads(p[0], q, cbs, bufs);
    if (syscall(SYS_close_range, (unsigned)q, ~0U, 0) != 0)
        die("close_range");
    n = fill(q, 1100, fds, 4096);
    CHECK(n > 0);
    finish_reads_after(p[1], cbs, 1);
    check_empty(fds, n);
    for (int i = 0; i < n; i++)
        close(fds[i]);

    /* a new queue works, and takes what completes */
    q = x_cq_create(0);
    CHECK(q >= 0);
    pending_reads(p[0], q, cbs, bufs);
    finish_reads(p[1], cbs);
    int total = 0;
    long long deadline = now_ms() + DONE_MS;
    while (total < R && now_ms() < deadline) {
        struct timespec ts = ms_ts(200);
        int k = x_cq_harvest(q, got, 8, &ts);
        CHECK(k >= 0);
        for (int i = 0; i < k; i++)
            CHECK(got[i] >= cbs && got[i] < cbs + R);
        total += k;
    }
    CHECK_EQ(total, R);
    CHECK_EQ(x_cq_harvest(q, got, 8, &zero), 0);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
