/* DESCRIPTION: aio_cancel on a closed fd fails with -1/EBADF */
#include "support/common.h"

int main(void)
{
    int fd = closed_fd();
    struct aiocb cb;
    cb_init(&cb, fd, NULL, 0, 0);
    CHECK_ERR(aio_cancel(fd, NULL), EBADF);
    CHECK_ERR(aio_cancel(fd, &cb), EBADF);
    CHECK_ERR(aio_cancel(-1, NULL), EBADF);
    return 0;
}
