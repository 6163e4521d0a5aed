/* DESCRIPTION: aio_fsync with an op other than O_SYNC/O_DSYNC fails with -1/EINVAL */
#include "support/common.h"

int main(void)
{
    int fd = tmp_open(0);
    struct aiocb cb;
    cb_init(&cb, fd, NULL, 0, 0);
    CHECK_ERR(aio_fsync(0, &cb), EINVAL);
    CHECK_ERR(aio_fsync(O_RDWR, &cb), EINVAL);
    CHECK_ERR(aio_fsync(12345, &cb), EINVAL);
    /* the valid ops work on the same aiocb */
    CHECK_EQ(aio_fsync(O_DSYNC, &cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    return 0;
}
