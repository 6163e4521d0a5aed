/* DESCRIPTION: aio_fsync on a closed descriptor (never used; or a file written and synced through AIO, then closed while AIO goes on elsewhere) fails with EBADF, not EINVAL: at submission or as the request's error */
#include "support/fdtest.h"

#define HIGH 710

static void expect_ebadf(int fd, int op, const char *what)
{
    struct aiocb cb;
    cb_init(&cb, fd, NULL, 0, 0);
    errno = 0;
    int r = aio_fsync(op, &cb);
    if (r == -1) {
        if (errno != EBADF)
            die("%s: -1 with errno %d (%s), expected EBADF", what, errno,
                strerror(errno));
        return;
    }
    CHECK_EQ(r, 0);
    wait_done(&cb);
    int e = aio_error(&cb);
    if (e != EBADF)
        die("%s: aio_error %d (%s), expected EBADF", what, e, strerror(e));
    CHECK_EQ(aio_return(&cb), -1);
}

static void write_and_sync(int fd)
{
    char data[512];
    pat_fill(data, sizeof data, 0, 9);
    struct aiocb w, s;
    cb_init(&w, fd, data, sizeof data, 0);
    CHECK_EQ(aio_write(&w), 0);
    cb_init(&s, fd, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &s), 0);
    wait_done(&w);
    wait_done(&s);
    CHECK_DONE_OK(&w, sizeof data);
    CHECK_DONE_OK(&s, 0);
}

int main(void)
{
    /* a number this process never opened */
    expect_ebadf(closed_fd(), O_SYNC, "aio_fsync(O_SYNC) on a never-opened fd");
    expect_ebadf(closed_fd(), O_DSYNC, "aio_fsync(O_DSYNC) on a never-opened fd");

    /* the program's first file, written and synced through AIO, closed;
     * then AIO goes on elsewhere */
    int low = tmp_open(0);
    struct elsewhere other;
    elsewhere_open(&other);
    write_and_sync(low);
    SYS(close(low));
    aio_elsewhere(&other);
    expect_ebadf(low, O_SYNC, "aio_fsync(O_SYNC) on the closed first file");
    expect_ebadf(low, O_DSYNC, "aio_fsync(O_DSYNC) on the closed first file");

    /* the same at HIGH */
    int f = tmp_open(0);
    SYS(dup2(f, HIGH));
    close(f);
    write_and_sync(HIGH);
    SYS(close(HIGH));
    expect_ebadf(HIGH, O_SYNC, "aio_fsync(O_SYNC) on a just-closed fd");
    expect_ebadf(HIGH, O_DSYNC, "aio_fsync(O_DSYNC) on a just-closed fd");
    return 0;
}
