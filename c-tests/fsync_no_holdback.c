/* DESCRIPTION: a request submitted after aio_fsync is not held back by it: it completes while the fsync still waits for an earlier write */
/* GLIBC-XFAIL: glibc runs one request per descriptor at a time, so the later request waits behind the earlier write */
#include "support/uffd.h"

/* The later request is a read: a later write to the same file would wait in the kernel for the
 * blocked write's inode lock (see support/uffd.h), whatever the library does. */
int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int fd = tmp_open(0);
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    static char later[UFFD_PAGE];
    pat_fill(page, sizeof page, 0, 11);
    pat_fill(later, sizeof later, 8192, 11);
    /* What the later read finds: written (and cached) before anything is in flight. */
    CHECK_EQ(pwrite(fd, later, sizeof later, 8192), sizeof later);

    /* w1: blocked on its source page until we supply it. */
    struct aiocb w1, f, r2;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);

    cb_init(&f, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f));
    static char got[UFFD_PAGE];
    cb_init(&r2, fd, got, sizeof got, 8192);
    SYS(aio_read(&r2));

    /* r2 must not wait for the fsync (nor for w1). */
    wait_done(&r2);
    CHECK_DONE_OK(&r2, UFFD_PAGE);
    CHECK_PAT(got, sizeof got, 8192, 11);
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
