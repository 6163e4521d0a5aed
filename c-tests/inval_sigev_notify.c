/* DESCRIPTION: an unknown sigev_notify value (99) is rejected with EINVAL */
/* GLIBC-XFAIL: glibc does not validate sigev_notify; the read just succeeds */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(4096, 8);
    char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_sigevent.sigev_notify = 99;
    errno = 0;
    int r = aio_read(&cb);
    if (r == -1) {
        CHECK_EQ(errno, EINVAL);
        return 0;
    }
    CHECK_EQ(r, 0);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), EINVAL);
    CHECK_EQ(aio_return(&cb), -1);
    return 0;
}
