/* DESCRIPTION: a closed fd makes aio_read/aio_write fail with EBADF (at submission or as the request's error) */
#include "support/common.h"

static void expect_ebadf(struct aiocb *cb, int (*submit)(struct aiocb *),
                         const char *what)
{
    errno = 0;
    int r = submit(cb);
    if (r == -1) {
        if (errno != EBADF)
            die("%s: -1 with errno %d, expected EBADF", what, errno);
        return;
    }
    CHECK_EQ(r, 0);
    wait_done(cb);
    if (aio_error(cb) != EBADF)
        die("%s: aio_error %d, expected EBADF", what, aio_error(cb));
    CHECK_EQ(aio_return(cb), -1);
}

int main(void)
{
    int fd = closed_fd();
    char buf[64] = { 0 };
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    expect_ebadf(&cb, aio_read, "aio_read");
    cb_init(&cb, fd, buf, sizeof buf, 0);
    expect_ebadf(&cb, aio_write, "aio_write");
    cb_init(&cb, -1, buf, sizeof buf, 0);
    expect_ebadf(&cb, aio_read, "aio_read fd -1");
    /* a read-only fd cannot be written */
    int ro = SYS(open("/dev/null", O_RDONLY));
    cb_init(&cb, ro, buf, sizeof buf, 0);
    expect_ebadf(&cb, aio_write, "aio_write on O_RDONLY fd");
    return 0;
}
