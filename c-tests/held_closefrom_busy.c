/* DESCRIPTION: closefrom(3) while a stream of writes on a file is in flight: each write completes once, written or (never having touched the file) ECANCELED; the file opened again afterwards takes a new stream of writes, all written */
#include "support/fdtest.h"

#define N 64
#define BLK 4096

static char bufs[2][N][BLK];
static struct aiocb cbs[2][N];

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int fd = SYS(mkstemp(path));
    SYS(ftruncate(fd, 2 * N * BLK));
    int ours = is_aio_rs((void *)aio_write);
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[0][i], BLK, (long long)i * BLK, 1);
        cb_init(&cbs[0][i], fd, bufs[0][i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_write(&cbs[0][i]), 0);
    }
    /* the daemon's closefrom, writes in flight */
    close_from(3);
    int written = 0, cancelled = 0;
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[0][i]);
        int e = aio_error(&cbs[0][i]);
        ssize_t r = aio_return(&cbs[0][i]);
        if (e == 0 && r == BLK)
            written++;
        else if ((e == ECANCELED || (!ours && e == EBADF)) && r == -1)
            cancelled++;
        else
            die("write %d: error %d (%s), return %zd", i, e, strerror(e), r);
    }
    /* the file again, at whatever number, and a new stream on it */
    fd = SYS(open(path, O_RDWR));
    unlink(path);
    for (int i = 0; i < N; i++) {
        long long off = (long long)(N + i) * BLK;
        pat_fill(bufs[1][i], BLK, off, 2);
        cb_init(&cbs[1][i], fd, bufs[1][i], BLK, (off_t)off);
        CHECK_EQ(aio_write(&cbs[1][i]), 0);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[1][i]);
        CHECK_DONE_OK(&cbs[1][i], BLK);
    }
    /* each block of the first stream holds its write or was never touched */
    static char back[BLK], zero[BLK];
    for (int i = 0; i < N; i++) {
        CHECK_EQ(pread(fd, back, BLK, (off_t)i * BLK), BLK);
        if (aio_error(&cbs[0][i]) == 0)
            CHECK_PAT(back, BLK, (long long)i * BLK, 1);
        else if (memcmp(back, zero, BLK) != 0)
            die("write %d failed (%d) but its block was written", i,
                aio_error(&cbs[0][i]));
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(pread(fd, back, BLK, (off_t)(N + i) * BLK), BLK);
        CHECK_PAT(back, BLK, (long long)(N + i) * BLK, 2);
    }
    printf("first stream: %d written, %d cancelled\n", written, cancelled);
    return 0;
}
