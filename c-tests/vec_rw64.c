/* DESCRIPTION: aio_readv64 and aio_writev64 take a struct aiocb64, as aio_read64 does */
#include "support/ext.h"

int main(void)
{
    vec_require();
    int fd = tmp_open(0);
    char a[100], b[200];
    pat_fill(a, sizeof a, 4096, 61);
    pat_fill(b, sizeof b, 4096 + sizeof a, 61);
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    struct aiocb64 cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_buf = iov;
    cb.aio_nbytes = 2;
    cb.aio_offset = 4096;
    cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    CHECK_EQ(x_aio_writev64(&cb), 0);
    const struct aiocb64 *l[] = {&cb};
    while (aio_error64(&cb) == EINPROGRESS) {
        struct timespec ts = ms_ts(5000);
        aio_suspend64(l, 1, &ts);
    }
    CHECK_EQ(aio_error64(&cb), 0);
    CHECK_EQ(aio_return64(&cb), 300);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_EQ(x_aio_readv64(&cb), 0);
    while (aio_error64(&cb) == EINPROGRESS) {
        struct timespec ts = ms_ts(5000);
        aio_suspend64(l, 1, &ts);
    }
    CHECK_EQ(aio_return64(&cb), 300);
    CHECK_PAT(a, sizeof a, 4096, 61);
    CHECK_PAT(b, sizeof b, 4096 + sizeof a, 61);
    return 0;
}
