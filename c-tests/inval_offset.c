/* DESCRIPTION: a negative aio_offset is rejected with EINVAL (at submission or as the request's error) */
#include "support/common.h"

static void expect_einval(struct aiocb *cb, int (*submit)(struct aiocb *),
                          const char *what)
{
    errno = 0;
    int r = submit(cb);
    if (r == -1) {
        if (errno != EINVAL)
            die("%s: -1 with errno %d, expected EINVAL", what, errno);
        return;
    }
    CHECK_EQ(r, 0);
    wait_done(cb);
    if (aio_error(cb) != EINVAL)
        die("%s: aio_error %d, expected EINVAL", what, aio_error(cb));
    CHECK_EQ(aio_return(cb), -1);
}

int main(void)
{
    int fd = tmp_pattern_file(4096, 6);
    char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, -1);
    expect_einval(&cb, aio_read, "aio_read offset -1");
    cb_init(&cb, fd, buf, sizeof buf, -4096);
    expect_einval(&cb, aio_write, "aio_write offset -4096");
    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, 4096);
    return 0;
}
