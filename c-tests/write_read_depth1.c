/* DESCRIPTION: a buffered write, then a read of it, one request in flight at a time, 4000 times on one file (each waited for with aio_suspend, and every 8th with aio_suspend's zero timeout polled first): every request completes once, reads back what was written, and the file holds every last write */
#include "support/common.h"

#define ROUNDS 4000
#define BLOCKS 64
#define BLK 4096

static char wbuf[BLK], rbuf[BLK];
/* The seed of the last write to each block. */
static unsigned last[BLOCKS];

/* With a zero timeout aio_suspend returns at once: 0 if cb is done, else EAGAIN. */
static void poll_once(const struct aiocb *cb)
{
    const struct aiocb *list[1] = { cb };
    struct timespec zero = { 0, 0 };
    long long t0 = now_ns();
    int r = aio_suspend(list, 1, &zero);
    long long took = now_ns() - t0;
    if (r != 0)
        CHECK_EQ(errno, EAGAIN);
    else
        CHECK(aio_error(cb) != EINPROGRESS);
    /* Generous (a loaded machine): a zero timeout must not wait for the request. */
    if (took > 500000000LL)
        die("aio_suspend with a zero timeout took %lld ns", took);
}

int main(void)
{
    int fd = tmp_open(0);
    struct aiocb cb;
    for (int i = 0; i < ROUNDS; i++) {
        int b = (i * 7) % BLOCKS;
        off_t off = (off_t)b * BLK;
        unsigned seed = (unsigned)i + 1;
        pat_fill(wbuf, BLK, off, seed);
        cb_init(&cb, fd, wbuf, BLK, off);
        CHECK_EQ(aio_write(&cb), 0);
        if (i % 8 == 0)
            poll_once(&cb);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, BLK);
        last[b] = seed;

        memset(rbuf, 0, BLK);
        cb_init(&cb, fd, rbuf, BLK, off);
        CHECK_EQ(aio_read(&cb), 0);
        if (i % 8 == 4)
            poll_once(&cb);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, BLK);
        CHECK_PAT(rbuf, BLK, off, seed);
    }
    for (int b = 0; b < BLOCKS; b++) {
        CHECK_EQ(pread(fd, rbuf, BLK, (off_t)b * BLK), BLK);
        CHECK_PAT(rbuf, BLK, (off_t)b * BLK, last[b]);
    }
    return 0;
}
