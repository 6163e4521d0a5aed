/* DESCRIPTION: 4096 outstanding aio_reads on one file are all accepted (no EAGAIN) and return the right data */
#include "support/common.h"

#define N 4096
#define SZ 512

int main(void)
{
    int fd = tmp_pattern_file((size_t)N * SZ, 10);
    static struct aiocb cbs[N];
    static char bufs[N][SZ];
    for (int i = 0; i < N; i++) {
        /* read the blocks in a scrambled order */
        long long blk = (i * 2654435761u) % N;
        cb_init(&cbs[i], fd, bufs[i], SZ, blk * SZ);
        if (aio_read(&cbs[i]) != 0)
            die("aio_read #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], SZ);
        CHECK_PAT(bufs[i], SZ, cbs[i].aio_offset, 10);
    }
    return 0;
}
