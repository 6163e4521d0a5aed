/* DESCRIPTION: aio_cancel (fd, cb) and (fd, NULL), called by a thread with a deferred cancel pending, return normally with their usual results (no abort, no cancel inside them) */
#include "support/sigtest.h"

static struct aiocb one, all;
static char buf1[16], buf2[16];
static int p1[2], p2[2], file;
static int r_one, r_all, r_none;

static void body(void)
{
    r_one = aio_cancel(p1[0], &one);
    r_all = aio_cancel(p2[0], NULL);
    r_none = aio_cancel(file, NULL);
}

/* AIO_CANCELED, or (glibc, whose worker is blocked in the read) not. */
static void check_cancelled(int r, struct aiocb *cb, int wfd)
{
    if (r == AIO_CANCELED) {
        CHECK_EQ(aio_error(cb), ECANCELED);
        CHECK_EQ(aio_return(cb), -1);
    } else {
        CHECK_EQ(r, AIO_NOTCANCELED);
        write_all(wfd, "done", 4);
        wait_done(cb);
        CHECK_DONE_OK(cb, 4);
    }
}

int main(void)
{
    file = tmp_pattern_file(4096, 48);
    make_pipe(p1);
    make_pipe(p2);
    /* the engine is started already: this is about the calls themselves */
    start_engine(file);

    /* Whether a cancel has to wait or wake anyone depends on how far the
     * request got: several rounds. */
    for (int round = 0; round < 8; round++) {
        cb_init(&one, p1[0], buf1, sizeof buf1, 0);
        CHECK_EQ(aio_read(&one), 0);
        cb_init(&all, p2[0], buf2, sizeof buf2, 0);
        CHECK_EQ(aio_read(&all), 0);
        run_with_pending_cancel(body);
        check_cancelled(r_one, &one, p1[1]);
        check_cancelled(r_all, &all, p2[1]);
        /* nothing was ever pending on the file */
        CHECK_EQ(r_none, AIO_ALLDONE);
    }
    return 0;
}
