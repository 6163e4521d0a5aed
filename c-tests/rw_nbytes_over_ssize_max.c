/* DESCRIPTION: aio_read/aio_write of more than SSIZE_MAX bytes are accepted and complete with EFAULT through aio_error and aio_return; on a closed descriptor EBADF comes first (as pread reports it) */
#include "support/common.h"
#include <limits.h>

static void expect(int fd, int (*submit)(struct aiocb *), int want, const char *what)
{
    static char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_nbytes = (size_t)SSIZE_MAX + 1;
    errno = 0;
    int r = submit(&cb);
    if (r != 0)
        die("%s returned %d errno %d (%s); glibc accepts it and reports the error "
            "through aio_error", what, r, errno, strerror(errno));
    wait_done(&cb);
    if (aio_error(&cb) != want)
        die("%s: aio_error %d (%s), expected %d (%s)", what, aio_error(&cb),
            strerror(aio_error(&cb)), want, strerror(want));
    CHECK_EQ(aio_return(&cb), -1);
}

int main(void)
{
    int fd = tmp_pattern_file(4096, 3);
    expect(fd, aio_read, EFAULT, "aio_read of SSIZE_MAX + 1 bytes");
    expect(fd, aio_write, EFAULT, "aio_write of SSIZE_MAX + 1 bytes");
    int bad = closed_fd();
    expect(bad, aio_read, EBADF, "aio_read of SSIZE_MAX + 1 bytes on a closed fd");
    expect(bad, aio_write, EBADF, "aio_write of SSIZE_MAX + 1 bytes on a closed fd");
    /* nothing was written */
    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, 4096);
    return 0;
}
