/* DESCRIPTION: on an O_APPEND file, aio_fsync waits for the appends queued before it; cancelling one still queued lets it complete once the others are done */
#include "support/uffd.h"

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int fd = tmp_open(O_APPEND);
    if (fd < 0)
        die("open O_APPEND");
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    static char second[UFFD_PAGE];
    pat_fill(page, sizeof page, 0, 16);
    pat_fill(second, sizeof second, 4096, 16);

    /* a1 blocks on its source page; a2 is queued behind it (appends keep their order); f waits
     * for both. */
    struct aiocb a1, a2, f;
    cb_init(&a1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&a1));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    cb_init(&a2, fd, second, sizeof second, 0);
    SYS(aio_write(&a2));
    cb_init(&f, fd, NULL, 0, 0);
    SYS(aio_fsync(O_SYNC, &f));

    /* a2 has not touched the file. */
    int r = aio_cancel(fd, &a2);
    if (r == AIO_NOTCANCELED)
        skip("a2 already running: the implementation does not queue appends");
    CHECK_EQ(r, AIO_CANCELED);
    CHECK_EQ(aio_error(&a2), ECANCELED);
    CHECK_EQ(aio_error(&f), EINPROGRESS);

    uffd_fill(&ub, 0, page);
    /* f waited for a1 and no longer waits for the cancelled a2. */
    wait_done(&f);
    CHECK_EQ(aio_error(&f), 0);
    CHECK(aio_error(&a1) != EINPROGRESS);
    CHECK_DONE_OK(&a1, UFFD_PAGE);

    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, UFFD_PAGE);
    static char back[UFFD_PAGE];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 16);
    return 0;
}
