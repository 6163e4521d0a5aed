/* DESCRIPTION: aio_write then aio_read on a buffered file at unaligned offsets and sizes round-trips the data */
#include "support/common.h"

#define N 50

int main(void)
{
    int fd = tmp_open(0);
    static struct aiocb w[N], r[N];
    static char wb[N][777], rb[N][777];
    /* non-overlapping unaligned extents, all in flight together */
    for (int i = 0; i < N; i++) {
        off_t off = (off_t)i * 1000 + 13;
        size_t len = 1 + (size_t)(i * 37) % 777;
        pat_fill(wb[i], len, off, 41);
        cb_init(&w[i], fd, wb[i], len, off);
        if (aio_write(&w[i]) != 0)
            die("aio_write #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&w[i]);
        CHECK_DONE_OK(&w[i], w[i].aio_nbytes);
    }
    for (int i = 0; i < N; i++) {
        cb_init(&r[i], fd, rb[i], w[i].aio_nbytes, w[i].aio_offset);
        if (aio_read(&r[i]) != 0)
            die("aio_read #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&r[i]);
        CHECK_DONE_OK(&r[i], w[i].aio_nbytes);
        CHECK_PAT(rb[i], r[i].aio_nbytes, r[i].aio_offset, 41);
    }
    return 0;
}
