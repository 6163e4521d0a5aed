/* DESCRIPTION: aio_cancel of an aio_fsync still waiting for an earlier write cancels it, and a later aio_fsync still waits for that write and then completes */
#include "support/uffd.h"

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int fd = tmp_open(0);
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    pat_fill(page, sizeof page, 0, 15);

    /* w1 blocks on its source page; f1 and f2 wait for it. */
    struct aiocb w1, f1, f2;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    cb_init(&f1, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f1));
    cb_init(&f2, fd, NULL, 0, 0);
    SYS(aio_fsync(O_DSYNC, &f2));

    /* f1 has not touched the file: it can be cancelled. */
    CHECK_EQ(aio_cancel(fd, &f1), AIO_CANCELED);
    CHECK_EQ(aio_error(&f1), ECANCELED);
    CHECK_EQ(aio_return(&f1), -1);
    /* f2 still waits for w1. */
    const struct aiocb *fl[1] = { &f2 };
    struct timespec ts = ms_ts(200);
    if (aio_suspend(fl, 1, &ts) == 0 || aio_error(&f2) != EINPROGRESS)
        die("the second fsync completed (status %d) while the write before it was running", aio_error(&f2));

    uffd_fill(&ub, 0, page);
    wait_done(&f2);
    CHECK_EQ(aio_error(&f2), 0);
    CHECK(aio_error(&w1) != EINPROGRESS);
    CHECK_DONE_OK(&w1, UFFD_PAGE);

    /* Nothing was left counted: a write and an fsync after all this complete as usual. */
    static char more[4096];
    pat_fill(more, sizeof more, 4096, 15);
    struct aiocb w2, f3;
    cb_init(&w2, fd, more, sizeof more, 4096);
    SYS(aio_write(&w2));
    cb_init(&f3, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f3));
    wait_done(&f3);
    CHECK_EQ(aio_error(&f3), 0);
    CHECK_DONE_OK(&w2, sizeof more);

    static char back[2 * UFFD_PAGE];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 15);
    return 0;
}
