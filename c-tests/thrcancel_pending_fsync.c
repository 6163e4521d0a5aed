/* DESCRIPTION: aio_fsync (O_SYNC and O_DSYNC), called by a thread with a deferred cancel pending, returns normally (no abort, no cancel inside it); both complete */
#include "support/sigtest.h"

static struct aiocb s1, s2;
static int fd;

static void body(void)
{
    CHECK_EQ(aio_fsync(O_SYNC, &s1), 0);
    CHECK_EQ(aio_fsync(O_DSYNC, &s2), 0);
}

int main(void)
{
    fd = tmp_pattern_file(4096, 46);
    /* the engine is started already: this is about the calls themselves */
    start_engine(fd);

    cb_init(&s1, fd, NULL, 0, 0);
    cb_init(&s2, fd, NULL, 0, 0);
    run_with_pending_cancel(body);
    wait_done(&s1);
    wait_done(&s2);
    CHECK_DONE_OK(&s1, 0);
    CHECK_DONE_OK(&s2, 0);
    return 0;
}
