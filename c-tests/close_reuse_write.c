/* DESCRIPTION: a write queued behind another on a full pipe, whose number is closed and reused by a regular file, never writes into that file: it completes once, into the pipe or ECANCELED */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so once the pipe is closed the queued write goes into the file that took the number (20 runs in 20 on the reference machine) */
#include "support/fdtest.h"

#define N 2
#define LEN 8

int main(void)
{
    int sig = SIGRTMIN + 3;
    sigc_install(sig);
    int p[2];
    make_pipe(p);
    int num = p[1];
    static char fbytes[4096];
    memset(fbytes, 'F', sizeof fbytes);
    int f = tmp_open(0);
    CHECK_EQ(pwrite(f, fbytes, sizeof fbytes, 0), sizeof fbytes);

    /* a full pipe: the first write waits for room, the second behind it */
    size_t filled = fill_pipe(num, 'x');
    static const char *msgs[N] = { "write-01", "write-02" };
    static struct aiocb cbs[N];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], num, (void *)msgs[i], LEN, 0);
        cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        cbs[i].aio_sigevent.sigev_signo = sig;
        cbs[i].aio_sigevent.sigev_value.sival_int = i;
        CHECK_EQ(aio_write(&cbs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ(aio_error(&cbs[i]), EINPROGRESS);

    /* close the pipe's write end; its number now names the regular file */
    SYS(close(num));
    move_fd(f, num);

    /* make room in the original pipe */
    static char sink[1 << 20];
    if (filled > sizeof sink)
        die("pipe holds %zu bytes", filled);
    read_within(p[0], sink, filled, DONE_MS);
    for (size_t i = 0; i < filled; i++)
        if (sink[i] != 'x')
            die("pipe byte %zu is 0x%02x", i, (unsigned char)sink[i]);

    for (int i = 0; i < N; i++)
        wait_done(&cbs[i]);
    /* what each write did, and what the pipe holds after the filler */
    char expect[N * LEN];
    size_t elen = 0;
    for (int i = 0; i < N; i++) {
        int e = aio_error(&cbs[i]);
        ssize_t r = aio_return(&cbs[i]);
        if (e == ECANCELED) {
            CHECK_EQ(r, -1);
            continue;
        }
        if (e != 0)
            die("write %d: error %d (%s), expected it in the pipe or "
                "ECANCELED", i, e, strerror(e));
        CHECK_EQ(r, LEN);
        memcpy(expect + elen, msgs[i], LEN);
        elen += LEN;
    }
    /* the regular file is exactly as written: no request reached it */
    static char back[sizeof fbytes + 64];
    ssize_t n = pread(num, back, sizeof back, 0);
    if (n != (ssize_t)sizeof fbytes || memcmp(back, fbytes, sizeof fbytes))
        die("the regular file that reused the number was changed: size "
            "%zd (expected %zu), starts \"%.16s\"", n, sizeof fbytes, back);
    CHECK_EQ(lseek(num, 0, SEEK_CUR), 0);
    char got[N * LEN + 16];
    size_t g = read_available(p[0], got, sizeof got);
    if (g != elen || memcmp(got, expect, elen) != 0)
        die("the pipe holds %zu bytes \"%.*s\" after the filler, expected "
            "%zu \"%.*s\"", g, (int)g, got, elen, (int)elen, expect);

    int ngot = sigc_wait(N, DONE_MS);
    if (ngot < N)
        die("%d of %d notifications arrived", ngot, N);
    sigc_expect_once(0, N, 50);
    return 0;
}
