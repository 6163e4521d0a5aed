/* DESCRIPTION: aio_reqprio outside 0..AIO_PRIO_DELTA_MAX (21, -1) fails with -1/EINVAL */
#include "support/common.h"
#include <limits.h>

int main(void)
{
    int fd = tmp_pattern_file(4096, 7);
    char buf[64];
    struct aiocb cb;
    CHECK_EQ(AIO_PRIO_DELTA_MAX, 20);
    int bad[] = { 21, -1, INT_MAX, INT_MIN };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_reqprio = bad[i];
        CHECK_ERR(aio_read(&cb), EINVAL);
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_reqprio = bad[i];
        CHECK_ERR(aio_write(&cb), EINVAL);
    }
    /* the limit itself is fine */
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_reqprio = 20;
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 0, 7);
    return 0;
}
