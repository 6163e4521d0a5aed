/* DESCRIPTION: aio_read/aio_write on a number that was a regular file (or a pipe) used for AIO and was just closed, while the program goes on using AIO, fail with EBADF: at submission, or accepted and completed once with EBADF and its notification */
#include "support/fdtest.h"

#define HIGH 700 /* above anything the library takes for itself */

static int sig;
static int next_value; /* sigev value of the next request, = signals so far */

/* submit(cb) on a closed number: -1/EBADF, or EBADF as the request's error
 * with exactly one notification. */
static void expect_ebadf(int fd, int (*submit)(struct aiocb *), const char *what)
{
    char buf[64] = { 0 };
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    cb.aio_sigevent.sigev_signo = sig;
    cb.aio_sigevent.sigev_value.sival_int = next_value;
    errno = 0;
    int r = submit(&cb);
    if (r == -1) {
        if (errno != EBADF)
            die("%s: -1 with errno %d, expected EBADF", what, errno);
        return;
    }
    CHECK_EQ(r, 0);
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(&cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("%s on closed fd %d was accepted and is still in progress "
                "after %d ms", what, fd, DONE_MS);
        const struct aiocb *l[1] = { &cb };
        struct timespec ts = ms_ts(100);
        aio_suspend(l, 1, &ts);
    }
    if (aio_error(&cb) != EBADF)
        die("%s: aio_error %d, expected EBADF", what, aio_error(&cb));
    CHECK_EQ(aio_return(&cb), -1);
    if (sigc_wait(next_value + 1, DONE_MS) < next_value + 1)
        die("%s: no notification for the completed request", what);
    sigc_expect_once(next_value, next_value + 1, 30);
    next_value++;
}

/* One request that works on fd, so the library knows the number. */
static void use_once(int fd, int is_pipe, int wfd)
{
    char buf[16];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    if (is_pipe)
        write_all(wfd, "0123456789abcdef", 16);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 16);
}

int main(void)
{
    sig = SIGRTMIN + 4;
    sigc_install(sig);

    /* the program's first descriptor: a regular file, the first AIO call */
    int low = tmp_pattern_file(4096, 5);
    struct elsewhere other;
    elsewhere_open(&other);
    use_once(low, 0, -1);
    /* closed, then AIO goes on elsewhere before the number is used again */
    SYS(close(low));
    aio_elsewhere(&other);
    expect_ebadf(low, aio_read, "aio_read (was the first file)");
    expect_ebadf(low, aio_write, "aio_write (was the first file)");

    /* a regular file at HIGH, read once, then closed */
    int f = tmp_pattern_file(4096, 5);
    SYS(dup2(f, HIGH));
    close(f);
    use_once(HIGH, 0, -1);
    SYS(close(HIGH));
    expect_ebadf(HIGH, aio_read, "aio_read (was a file)");
    expect_ebadf(HIGH, aio_write, "aio_write (was a file)");
    expect_ebadf(HIGH, aio_read, "aio_read again (was a file)");

    /* a pipe's read end at HIGH + 1, read once, then closed */
    int p[2];
    make_pipe(p);
    SYS(dup2(p[0], HIGH + 1));
    close(p[0]);
    use_once(HIGH + 1, 1, p[1]);
    SYS(close(HIGH + 1));
    expect_ebadf(HIGH + 1, aio_read, "aio_read (was a pipe)");
    expect_ebadf(HIGH + 1, aio_write, "aio_write (was a pipe)");
    return 0;
}
