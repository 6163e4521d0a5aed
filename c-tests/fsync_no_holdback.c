/* DESCRIPTION: a write submitted after aio_fsync is not held back by it: it completes while the fsync still waits for an earlier write */
/* GLIBC-XFAIL: glibc runs one request per descriptor at a time, so the later write waits behind the earlier one */
#include "support/uffd.h"

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int fd = tmp_open(0);
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    static char later[UFFD_PAGE];
    pat_fill(page, sizeof page, 0, 11);
    pat_fill(later, sizeof later, 8192, 11);

    /* w1: blocked on its source page until we supply it. */
    struct aiocb w1, f, w2;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);

    cb_init(&f, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f));
    cb_init(&w2, fd, later, sizeof later, 8192);
    SYS(aio_write(&w2));

    /* w2 must not wait for the fsync (nor for w1). */
    wait_done(&w2);
    CHECK_DONE_OK(&w2, UFFD_PAGE);
    CHECK_EQ(aio_error(&w1), EINPROGRESS);
    CHECK_EQ(aio_error(&f), EINPROGRESS);

    uffd_fill(&ub, 0, page);
    wait_done(&w1);
    CHECK_DONE_OK(&w1, UFFD_PAGE);
    wait_done(&f);
    CHECK_EQ(aio_error(&f), 0);
    CHECK_EQ(aio_return(&f), 0);

    static char back[3 * UFFD_PAGE];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, UFFD_PAGE, 0, 11);
    CHECK_PAT(back + 8192, UFFD_PAGE, 8192, 11);
    return 0;
}
