/* DESCRIPTION: aio_write then aio_read on an O_DIRECT file with 4096-aligned buffers round-trips the data */
#include "support/common.h"

#define BLK 4096
#define NB 32

int main(void)
{
    int fd = tmp_open_direct();
    void *wbuf, *rbuf;
    CHECK_EQ(posix_memalign(&wbuf, BLK, NB * BLK), 0);
    CHECK_EQ(posix_memalign(&rbuf, BLK, NB * BLK), 0);
    pat_fill(wbuf, NB * BLK, 0, 40);
    memset(rbuf, 0, NB * BLK);
    static struct aiocb w[NB], r[NB];
    /* one block per request, in reverse order, all in flight together */
    for (int i = NB - 1; i >= 0; i--) {
        cb_init(&w[i], fd, (char *)wbuf + i * BLK, BLK, (off_t)i * BLK);
        if (aio_write(&w[i]) != 0)
            die("aio_write #%d", i);
    }
    for (int i = 0; i < NB; i++) {
        wait_done(&w[i]);
        CHECK_DONE_OK(&w[i], BLK);
    }
    for (int i = 0; i < NB; i++) {
        cb_init(&r[i], fd, (char *)rbuf + i * BLK, BLK, (off_t)i * BLK);
        if (aio_read(&r[i]) != 0)
            die("aio_read #%d", i);
    }
    for (int i = 0; i < NB; i++) {
        wait_done(&r[i]);
        CHECK_DONE_OK(&r[i], BLK);
    }
    CHECK_PAT(rbuf, NB * BLK, 0, 40);
    /* one large aligned read, crossing EOF: short count */
    void *big;
    CHECK_EQ(posix_memalign(&big, BLK, (NB + 4) * BLK), 0);
    struct aiocb b;
    cb_init(&b, fd, big, (NB + 4) * BLK, 0);
    CHECK_EQ(aio_read(&b), 0);
    wait_done(&b);
    CHECK_DONE_OK(&b, NB * BLK);
    CHECK_PAT(big, NB * BLK, 0, 40);
    free(big);
    free(rbuf);
    free(wbuf);
    return 0;
}
