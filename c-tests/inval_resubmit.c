/* DESCRIPTION: resubmitting an aiocb that is still in flight fails with -1/EINVAL and leaves the first request intact */
/* GLIBC-XFAIL: glibc accepts the second submission of the same aiocb */
#include "support/common.h"

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[32];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);

    errno = 0;
    int r1 = aio_read(&cb);
    int e1 = errno;
    errno = 0;
    int r2 = aio_write(&cb);
    int e2 = errno;
    if (r1 != -1 || e1 != EINVAL || r2 != -1 || e2 != EINVAL)
        die("resubmission not rejected: aio_read -> %d errno %d, "
            "aio_write -> %d errno %d", r1, e1, r2, e2);
    /* the original request is still pending and completes normally */
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "hello", 5);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    return 0;
}
