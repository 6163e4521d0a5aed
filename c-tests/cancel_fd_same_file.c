/* DESCRIPTION: aio_cancel(fd, NULL) on another number of the same open file, after the request's own number was closed and reused by another pipe: the pending pipe read completes against its own pipe or with ECANCELED, and never reads the pipe that took its number */
/* GLIBC-XFAIL: glibc runs a queued request by its descriptor number when one of its threads gets to it, so a read whose number was closed and reused before then reads the new pipe */
#include "support/common.h"
#include <fcntl.h>

int main(void)
{
    int p[2], decoy[2];
    make_pipe(p);
    /* The request's number: another descriptor of p's read end (the same
     * open file). */
    int n = SYS(dup(p[0]));
    char buf[16] = { 0 };
    struct aiocb cb;
    cb_init(&cb, n, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    /* The program closes the number and another pipe, with data, takes it. */
    SYS(close(n));
    make_pipe(decoy);
    CHECK_EQ(dup2(decoy[0], n), n);
    write_all(decoy[1], "DECOY", 5);
    /* Cancel everything on p's read end: the request was submitted on n,
     * not on p[0]; whether it is cancelled or not, it must not read n. */
    int r = aio_cancel(p[0], NULL);
    if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
        die("aio_cancel returned %d", r);
    if (aio_error(&cb) == EINPROGRESS)
        write_all(p[1], "ok", 2);
    wait_done(&cb);
    int e = aio_error(&cb);
    ssize_t got = aio_return(&cb);
    if (e == 0) {
        if (got != 2 || memcmp(buf, "ok", 2) != 0)
            die("the read returned %zd bytes \"%.*s\": not its own pipe's data",
                got, (int)(got > 0 ? got : 0), buf);
    } else if (e != ECANCELED) {
        die("the read failed with %s (expected its own pipe's data or ECANCELED)",
            strerror(e));
    }
    /* The pipe that took the number still has all its data. */
    SYS(fcntl(n, F_SETFL, O_NONBLOCK));
    char d[8] = { 0 };
    CHECK_EQ(read(n, d, sizeof d), 5);
    CHECK(memcmp(d, "DECOY", 5) == 0);
    return 0;
}
