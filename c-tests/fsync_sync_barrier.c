/* DESCRIPTION: aio_fsync(O_SYNC) queued behind 64 writes completes only after all of them */
#include "support/common.h"

#ifndef FSYNC_OP
#define FSYNC_OP O_SYNC
#endif
#define N 64
#define SZ 8192

int main(void)
{
    int fd = tmp_open(0);
    static struct aiocb cbs[N];
    static char bufs[N][SZ];
    struct aiocb fs;
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[i], SZ, (long long)i * SZ, 11);
        cb_init(&cbs[i], fd, bufs[i], SZ, (off_t)i * SZ);
        if (aio_write(&cbs[i]) != 0)
            die("aio_write #%d", i);
    }
    cb_init(&fs, fd, NULL, 0, 0);
    CHECK_EQ(aio_fsync(FSYNC_OP, &fs), 0);
    /* watch the fsync only */
    wait_done_ms(&fs, 8000);
    CHECK_DONE_OK(&fs, 0);
    for (int i = 0; i < N; i++)
        if (aio_error(&cbs[i]) == EINPROGRESS)
            die("write #%d still in progress after the fsync completed", i);
    for (int i = 0; i < N; i++)
        CHECK_DONE_OK(&cbs[i], SZ);
    static char back[N * SZ];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 11);
    return 0;
}
