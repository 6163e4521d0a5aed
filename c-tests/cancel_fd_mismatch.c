/* DESCRIPTION: aio_cancel(fd, cb) where cb->aio_fildes is another fd fails with -1/EINVAL and cancels nothing */
#include "support/common.h"

int main(void)
{
    int p[2];
    make_pipe(p);
    int other = tmp_open(0);
    char buf[8];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_ERR(aio_cancel(other, &cb), EINVAL);
    CHECK_ERR(aio_cancel(p[1], &cb), EINVAL);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "ok", 2);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2);
    return 0;
}
