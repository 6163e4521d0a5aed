/* DESCRIPTION: a read queued behind another on a pipe, whose number is closed and reused by a regular file, never reads that file: it completes once, from the pipe or ECANCELED */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so once the pipe is closed the queued read (or the first, if its thread had not reached read() yet) reads the file that took the number (20 runs in 20 on the reference machine) */
#include "support/fdtest.h"

#define N 2
#define LEN 8

int main(void)
{
    int sig = SIGRTMIN + 3;
    sigc_install(sig);
    int p[2];
    make_pipe(p);
    int num = p[0];
    /* the file that will take the pipe's number: 'F' everywhere */
    static char fbytes[4096];
    memset(fbytes, 'F', sizeof fbytes);
    int f = tmp_open(0);
    CHECK_EQ(pwrite(f, fbytes, sizeof fbytes, 0), sizeof fbytes);

    static struct aiocb cbs[N];
    static char bufs[N][LEN];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], num, bufs[i], LEN, 0);
        cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        cbs[i].aio_sigevent.sigev_signo = sig;
        cbs[i].aio_sigevent.sigev_value.sival_int = i;
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ(aio_error(&cbs[i]), EINPROGRESS);

    /* close the pipe's read end; its number now names the regular file */
    SYS(close(num));
    move_fd(f, num);

    /* data for both reads, in the original pipe.  EPIPE means that no
     * request holds the pipe's read end any more: then none may complete
     * with data (checked below). */
    static const char stream[] = "pipe-onepipe-two";
    signal(SIGPIPE, SIG_IGN);
    if (write(p[1], stream, N * LEN) != N * LEN && errno != EPIPE)
        die("write to the pipe");

    for (int i = 0; i < N; i++)
        wait_done(&cbs[i]);
    size_t pos = 0;
    for (int i = 0; i < N; i++) {
        int e = aio_error(&cbs[i]);
        ssize_t r = aio_return(&cbs[i]);
        if (e == ECANCELED) {
            CHECK_EQ(r, -1);
            continue;
        }
        if (e != 0)
            die("read %d: error %d (%s), expected data from the pipe or "
                "ECANCELED", i, e, strerror(e));
        if (r <= 0 || r > LEN)
            die("read %d returned %zd", i, r);
        if (memchr(bufs[i], 'F', (size_t)r))
            die("read %d read the regular file that reused its descriptor "
                "number: got \"%.*s\"", i, (int)r, bufs[i]);
        if (memcmp(bufs[i], stream + pos, (size_t)r) != 0)
            die("read %d got \"%.*s\", expected the pipe's bytes in order "
                "(\"%.*s\")", i, (int)r, bufs[i], (int)r, stream + pos);
        pos += (size_t)r;
    }
    /* the file was neither read with the number's offset nor changed */
    CHECK_EQ(lseek(num, 0, SEEK_CUR), 0);
    static char back[sizeof fbytes + 1];
    CHECK_EQ(pread(num, back, sizeof back, 0), sizeof fbytes);
    CHECK(memcmp(back, fbytes, sizeof fbytes) == 0);

    /* exactly one notification per request */
    int got = sigc_wait(N, DONE_MS);
    if (got < N)
        die("%d of %d notifications arrived", got, N);
    sigc_expect_once(0, N, 50);
    return 0;
}
