/* DESCRIPTION: several aio_fsync in flight on one fd each wait for exactly their own predecessors; later requests are not held */
/* GLIBC-XFAIL: glibc runs one request per descriptor at a time, so the later read waits behind the first write */
#include "support/uffd.h"

/* w1 blocks on its source page (holding the file's inode lock, see support/uffd.h); w2, submitted
 * after f1, waits in the kernel for that lock, then blocks on its own page. */
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
    CHECK_EQ(pwrite(fd, p2, UFFD_PAGE, 8192), UFFD_PAGE);

    /* w1, f1, w2, f2, r3. */
    struct aiocb w1, f1, w2, f2, r3;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    cb_init(&f1, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f1));
    cb_init(&w2, fd, uffd_page(&ub, 1), UFFD_PAGE, 4096);
    SYS(aio_write(&w2));
    cb_init(&f2, fd, NULL, 0, 0);
    SYS(aio_fsync(O_DSYNC, &f2));
    static char got[UFFD_PAGE];
    cb_init(&r3, fd, got, UFFD_PAGE, 8192);
    SYS(aio_read(&r3));
    /* Neither fsync holds back the read. */
    wait_done(&r3);
    CHECK_DONE_OK(&r3, UFFD_PAGE);
    CHECK_PAT(got, UFFD_PAGE, 8192, 13);
    CHECK_EQ(aio_error(&f1), EINPROGRESS);
    CHECK_EQ(aio_error(&f2), EINPROGRESS);

    /* Release w1: w2 now runs and blocks on its own page. f1 waits for w1 only, so it completes
     * while w2 is blocked; f2 waits for w2 too. */
    uffd_fill(&ub, 0, p0);
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 1);
    wait_done(&w1);
    CHECK_DONE_OK(&w1, UFFD_PAGE);
    wait_done(&f1);
    CHECK_EQ(aio_error(&f1), 0);
    CHECK_EQ(aio_error(&w2), EINPROGRESS);
    const struct aiocb *fl[1] = { &f2 };
    struct timespec ts = ms_ts(300);
    int r = aio_suspend(fl, 1, &ts);
    if (r == 0 || aio_error(&f2) != EINPROGRESS)
        die("the second fsync completed (status %d) while the write before it was still running", aio_error(&f2));

    uffd_fill(&ub, 1, p1);
    wait_done(&f2);
    CHECK_EQ(aio_error(&f2), 0);
    CHECK(aio_error(&w2) != EINPROGRESS);
    CHECK_DONE_OK(&w2, UFFD_PAGE);

    static char back[3 * UFFD_PAGE];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 13);
    return 0;
}
