/* DESCRIPTION: the first AIO call of the process, made by a thread with a deferred cancel pending, returns normally (no abort, no cancel inside it); the thread is cancelled later */
#include "support/sigtest.h"

static struct aiocb cb;
static char buf[4096];
static int fd;

static void body(void)
{
    /* nothing AIO has happened in this process before this call */
    CHECK_EQ(aio_read(&cb), 0);
}

int main(void)
{
    fd = tmp_pattern_file(sizeof buf, 41);
    cb_init(&cb, fd, buf, sizeof buf, 0);
    run_with_pending_cancel(body);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 0, 41);
    return 0;
}
