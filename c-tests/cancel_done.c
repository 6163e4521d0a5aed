/* DESCRIPTION: aio_cancel of an already completed request returns AIO_ALLDONE and keeps its result */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(4096, 23);
    char buf[100];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 7);
    CHECK_EQ(aio_read(&cb), 0);
    WAIT_UNTIL(aio_error(&cb) != EINPROGRESS, DONE_MS);
    CHECK_EQ(aio_cancel(fd, &cb), AIO_ALLDONE);
    CHECK_EQ(aio_cancel(fd, NULL), AIO_ALLDONE);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 7, 23);
    return 0;
}
