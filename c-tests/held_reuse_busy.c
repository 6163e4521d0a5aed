/* DESCRIPTION: in a busy stream of writes on one file, the program closes the number and opens another file at it, twice (while writes are in flight, and right after the stream drained): every write lands in the file its number named when it was submitted */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so writes still queued when the number is closed and reused go into the file that took it */
#include "support/fdtest.h"

#define N 64
#define BLK 4096

static char bufs[3][N][BLK];
static struct aiocb cbs[3][N];

/* Submits N writes of pattern `seed` on `fd` (block i at offset i*BLK). */
static void stream(int k, int fd, unsigned seed)
{
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[k][i], BLK, (long long)i * BLK, seed);
        cb_init(&cbs[k][i], fd, bufs[k][i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_write(&cbs[k][i]), 0);
    }
}

static void wait_stream(int k)
{
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[k][i]);
        CHECK_DONE_OK(&cbs[k][i], BLK);
    }
}

static void check_file(int fd, unsigned seed, const char *name)
{
    static char back[N * BLK];
    ssize_t n = pread(fd, back, sizeof back, 0);
    if (n != (ssize_t)sizeof back)
        die("file %s holds %zd bytes, expected %d", name, n, N * BLK);
    CHECK_PAT(back, sizeof back, 0, seed);
}

int main(void)
{
    int num = tmp_open(0);
    int a = SYS(dup(num)); /* the test's own view of each file */
    stream(0, num, 1);
    /* writes in flight on `num`: it now names another file */
    SYS(close(num));
    int b = tmp_open(0);
    move_fd(b, num);
    int bview = SYS(dup(num));
    stream(1, num, 2);
    wait_stream(0);
    wait_stream(1);
    /* the stream drained: at once, a third file at the number */
    SYS(close(num));
    int c = tmp_open(0);
    move_fd(c, num);
    stream(2, num, 3);
    wait_stream(2);
    check_file(a, 1, "A");
    check_file(bview, 2, "B");
    check_file(num, 3, "C");
    return 0;
}
