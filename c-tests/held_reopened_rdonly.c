/* DESCRIPTION: right after a busy stream of writes on a file drains, the program opens the same file again read-only at that number: a write on it fails with EBADF and a read works, as the new descriptor says, not as the earlier writable one did */
#include "support/fdtest.h"

#define N 64
#define BLK 4096

static char bufs[N][BLK];
static struct aiocb cbs[N];

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int num = SYS(mkstemp(path));
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[i], BLK, (long long)i * BLK, 7);
        cb_init(&cbs[i], num, bufs[i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_write(&cbs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], BLK);
    }
    /* the same file, opened again read-only, at the same number */
    SYS(close(num));
    int ro = SYS(open(path, O_RDONLY));
    unlink(path);
    move_fd(ro, num);
    static char w[BLK];
    memset(w, 'w', sizeof w);
    struct aiocb wcb;
    cb_init(&wcb, num, w, sizeof w, 0);
    CHECK_EQ(aio_write(&wcb), 0);
    wait_done(&wcb);
    if (aio_error(&wcb) != EBADF)
        die("a write on the read-only descriptor: error %d (%s), return %zd; "
            "expected EBADF", aio_error(&wcb), strerror(aio_error(&wcb)),
            aio_return(&wcb));
    CHECK_EQ(aio_return(&wcb), -1);
    static char r[BLK];
    struct aiocb rcb;
    cb_init(&rcb, num, r, sizeof r, BLK);
    CHECK_EQ(aio_read(&rcb), 0);
    wait_done(&rcb);
    CHECK_DONE_OK(&rcb, BLK);
    CHECK_PAT(r, sizeof r, BLK, 7);
    /* the file was not written */
    CHECK_EQ(pread(num, r, sizeof r, 0), BLK);
    CHECK_PAT(r, sizeof r, 0, 7);
    return 0;
}
