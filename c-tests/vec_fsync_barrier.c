/* DESCRIPTION: aio_fsync queued behind 64 aio_writev requests completes only after all of them; a vectored write queued after it lands too */
#include "support/ext.h"

#define N 64
#define SZ 8192

int main(void)
{
    vec_require();
    int fd = tmp_open(0);
    static struct aiocb cbs[N + 1];
    static char bufs[N + 1][SZ];
    static struct iovec iov[N + 1][3];
    static const size_t lens[] = {1000, 4000, 3192};
    struct aiocb fs;
    for (int i = 0; i <= N; i++) {
        pat_fill(bufs[i], SZ, (long long)i * SZ, 12);
        iov_split(iov[i], bufs[i], lens, 3);
        cb_initv(&cbs[i], fd, iov[i], 3, (off_t)i * SZ);
    }
    for (int i = 0; i < N; i++)
        if (x_aio_writev(&cbs[i]) != 0)
            die("aio_writev #%d", i);
    cb_init(&fs, fd, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &fs), 0);
    CHECK_EQ(x_aio_writev(&cbs[N]), 0);
    wait_done_ms(&fs, 8000);
    CHECK_DONE_OK(&fs, 0);
    for (int i = 0; i < N; i++)
        if (aio_error(&cbs[i]) == EINPROGRESS)
            die("write #%d still in progress after the fsync completed", i);
    wait_done(&cbs[N]);
    for (int i = 0; i <= N; i++)
        CHECK_DONE_OK(&cbs[i], SZ);
    static char back[(N + 1) * SZ];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 12);
    return 0;
}
