/* DESCRIPTION: aio_cancel(fd, NULL) on a second number for a file, after the first number was closed and reused, never makes a write queued on the first number touch the file that now has that number: the write completes against its own file or with ECANCELED */
/* GLIBC-XFAIL: glibc runs a queued request by descriptor number, so after the close the write goes to the file that reuses the number */
#include "support/uffd.h"
#include "support/fdtest.h"

/* Ends `cb` (bounded) and checks it either wrote its block of `fd` or was cancelled. */
static void check_wrote_or_cancelled(struct aiocb *cb, int fd, const char *what)
{
    wait_done(cb);
    int e = aio_error(cb);
    if (e == ECANCELED) {
        CHECK_EQ(aio_return(cb), -1);
        return;
    }
    if (e != 0)
        die("%s failed: %s", what, strerror(e));
    CHECK_EQ(aio_return(cb), cb->aio_nbytes);
    static char back[UFFD_PAGE];
    CHECK_EQ(pread(fd, back, cb->aio_nbytes, cb->aio_offset), cb->aio_nbytes);
    if (memcmp(back, (const void *)cb->aio_buf, cb->aio_nbytes) != 0)
        die("%s reported success but its file does not hold its data", what);
}

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int fd = tmp_open(0);
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    static char b2[UFFD_PAGE];
    pat_fill(page, sizeof page, 0, 21);
    pat_fill(b2, sizeof b2, 8192, 22);

    /* w1 runs and blocks on its source page, holding the file's inode lock (support/uffd.h);
     * w2, a write to the same file, waits behind it: with io_uring, queued in the kernel's
     * worker pool, where a cancel by file can end it before it runs. */
    struct aiocb w1, w2;
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    cb_init(&w2, fd, b2, sizeof b2, 8192);
    SYS(aio_write(&w2));

    /* Another number for the same open file; the first one closed and taken by a decoy. */
    int other = SYS(dup(fd));
    SYS(close(fd));
    static struct reuse_set decoys;
    reuse_add(&decoys, 0);
    CHECK_EQ(decoys.o[0].fd, fd);

    int r = aio_cancel(other, NULL);
    if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
        die("aio_cancel returned %d", r);
    uffd_fill(&ub, 0, page);
    check_wrote_or_cancelled(&w1, other, "the blocked write");
    check_wrote_or_cancelled(&w2, other, "the queued write");
    reuse_check_open(&decoys, "after the cancel");
    reuse_check_data(&decoys, "after the cancel");
    return 0;
}
