/* DESCRIPTION: several aio_fsync in flight on one fd each wait for exactly their own predecessors; later writes are not held */
/* GLIBC-XFAIL: glibc runs one request per descriptor at a time, so the last write waits behind the first */
#include "support/uffd.h"

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(2);
    int fd = tmp_open(0);
    static char p0[UFFD_PAGE] __attribute__((aligned(4096)));
    static char p1[UFFD_PAGE] __attribute__((aligned(4096)));
    static char p2[UFFD_PAGE];
    pat_fill(p0, UFFD_PAGE, 0, 13);
    pat_fill(p1, UFFD_PAGE, 4096, 13);
    pat_fill(p2, UFFD_PAGE, 8192, 13);

    /* w1, f1, w2, f2, w3: w1 and w2 block on their source pages. */
    struct aiocb w1, f1, w2, f2, w3;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    cb_init(&f1, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f1));
    cb_init(&w2, fd, uffd_page(&ub, 1), UFFD_PAGE, 4096);
    SYS(aio_write(&w2));
    /* w2 is not held behind f1: it starts, and blocks on its page. */
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 1);
    cb_init(&f2, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f2));
    cb_init(&w3, fd, p2, UFFD_PAGE, 8192);
    SYS(aio_write(&w3));
    wait_done(&w3);
    CHECK_DONE_OK(&w3, UFFD_PAGE);

    /* Release w2 first: f2 still waits for w1, and so does f1. */
    uffd_fill(&ub, 1, p1);
    wait_done(&w2);
    CHECK_DONE_OK(&w2, UFFD_PAGE);
    const struct aiocb *fl[2] = { &f1, &f2 };
    struct timespec ts = ms_ts(300);
    int r = aio_suspend(fl, 2, &ts);
    if (r == 0 || aio_error(&f1) != EINPROGRESS || aio_error(&f2) != EINPROGRESS)
        die("an fsync completed (f1 %d, f2 %d) while the first write was still running",
            aio_error(&f1), aio_error(&f2));

    uffd_fill(&ub, 0, p0);
    wait_done(&f1);
    wait_done(&f2);
    CHECK_DONE_OK(&w1, UFFD_PAGE);
    CHECK_EQ(aio_error(&f1), 0);
    CHECK_EQ(aio_error(&f2), 0);

    static char back[3 * UFFD_PAGE];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 13);
    return 0;
}
