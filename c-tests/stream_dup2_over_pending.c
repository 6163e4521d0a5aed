/* DESCRIPTION: dup2 puts a regular file over the number of a pending socket read (parked, waited for alone in aio_suspend before or after the dup2, or left for its thread's next wait): the read completes exactly once, from the socket's data or ECANCELED, never from the file (whose contents and offset stay as they were), and aio_cancel on the number afterwards cancels nothing of the file */
/* GLIBC-XFAIL: glibc issues a queued read by its descriptor number when its thread gets to it, so after the dup2 it reads the file */
#include "support/common.h"
#include "support/stream.h"

static void one(int mode)
{
    int f = tmp_open(0);
    write_all(f, "FILEDATA", 8);
    SYS(lseek(f, 2, SEEK_SET));
    int s[2];
    make_socketpair(s);
    char buf[16] = { 0 };
    struct aiocb cb;
    if (mode == 2) {
        /* A read waited for alone and served first, so the next may be left for the wait. */
        read_fed_byte(s[0], s[1], buf, 'x');
    }
    cb_init(&cb, s[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *l[1] = { &cb };
    struct timespec ts = ms_ts(5);
    if (mode == 1)
        CHECK_ERR(aio_suspend(l, 1, &ts), EAGAIN);
    int num = s[0];
    SYS(dup2(f, num));
    /* The number now names the file. A wait on the read must not read it. */
    CHECK_ERR(aio_suspend(l, 1, &ts), EAGAIN);
    write_all(s[1], "sockdata", 8);
    wait_done(&cb);
    int e = aio_error(&cb);
    ssize_t r = aio_return(&cb);
    if (e == 0) {
        if (r != 8 || memcmp(buf, "sockdata", 8) != 0)
            die("mode %d: read %zd bytes '%.8s', not the socket's", mode, r, buf);
    } else if (e != ECANCELED) {
        die("mode %d: aio_error %d", mode, e);
    }
    /* The file is untouched: contents and offset. */
    char fb[16] = { 0 };
    CHECK_EQ(pread(f, fb, sizeof fb, 0), 8);
    CHECK(memcmp(fb, "FILEDATA", 8) == 0);
    CHECK_EQ(lseek(f, 0, SEEK_CUR), 2);
    CHECK_EQ(lseek(num, 0, SEEK_CUR), 2);
    int cr = aio_cancel(num, NULL);
    CHECK(cr == AIO_ALLDONE);
    close(num);
    close(f);
    close(s[1]);
}

int main(void)
{
    for (int round = 0; round < 5; round++)
        for (int mode = 0; mode < 3; mode++)
            one(mode);
    return 0;
}
