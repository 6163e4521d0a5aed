/* DESCRIPTION: aio_error is EINPROGRESS while a pipe read waits, then 0; aio_return gives the byte count */
#include "support/common.h"

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[100];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(aio_error(&cb), EINPROGRESS);
        pause_us(1000);
    }
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "0123456789abcdef", 16);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), 0);
    CHECK_EQ(aio_error(&cb), 0); /* stable when asked again */
    CHECK_EQ(aio_return(&cb), 16);
    CHECK(memcmp(buf, "0123456789abcdef", 16) == 0);

    /* a failed request: aio_error gives the errno, aio_return -1 */
    cb_init(&cb, p[1], buf, sizeof buf, 0); /* write end: read fails */
    int r = aio_read(&cb);
    if (r == 0) {
        wait_done(&cb);
        CHECK_EQ(aio_error(&cb), EBADF);
        CHECK_EQ(aio_return(&cb), -1);
    } else {
        CHECK_EQ(errno, EBADF);
    }
    return 0;
}
