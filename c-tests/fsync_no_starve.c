/* DESCRIPTION: a continuous stream of writes does not starve aio_fsync, and it completes only after every write submitted before it */
#include "support/common.h"

#define DEPTH 32
#define BLK 4096

int main(void)
{
    int fd = tmp_open(0);
    static struct aiocb cbs[DEPTH];
    static char bufs[DEPTH][BLK];
    static long seq[DEPTH]; /* submission number of the request in each slot */
    struct aiocb f;
    const struct aiocb *list[DEPTH + 1];
    long next = 0, fsync_at = -1;
    unsigned rnd = 7;

    for (int i = 0; i < DEPTH; i++) {
        pat_fill(bufs[i], BLK, 0, 14);
        cb_init(&cbs[i], fd, bufs[i], BLK, (off_t)(i % 64) * BLK);
        SYS(aio_write(&cbs[i]));
        seq[i] = next++;
        list[i] = &cbs[i];
    }
    long long deadline = now_ms() + DONE_MS;
    int fsync_done = 0;
    for (long round = 0; !fsync_done; round++) {
        if (now_ms() > deadline)
            die("aio_fsync did not complete within %d ms under a stream of writes", DONE_MS);
        if (round == 64) {
            cb_init(&f, fd, NULL, 0, 0);
            SYS(aio_fsync(O_SYNC, &f));
            fsync_at = next++;
        }
        list[DEPTH] = fsync_at >= 0 ? &f : NULL;
        struct timespec ts = ms_ts(1000);
        if (aio_suspend(list, DEPTH + 1, &ts) != 0 && errno != EAGAIN && errno != EINTR)
            die("aio_suspend");
        if (fsync_at >= 0 && aio_error(&f) != EINPROGRESS) {
            CHECK_EQ(aio_error(&f), 0);
            /* Every write submitted before the fsync is complete. */
            for (int i = 0; i < DEPTH; i++)
                if (seq[i] < fsync_at && aio_error(&cbs[i]) == EINPROGRESS)
                    die("aio_fsync completed before write #%ld submitted ahead of it", seq[i]);
            fsync_done = 1;
        }
        /* Keep the stream going: resubmit every finished write at once. */
        for (int i = 0; i < DEPTH; i++) {
            int e = aio_error(&cbs[i]);
            if (e == EINPROGRESS)
                continue;
            CHECK_EQ(e, 0);
            CHECK_EQ(aio_return(&cbs[i]), BLK);
            rnd = rnd * 1103515245u + 12345u;
            cbs[i].aio_offset = (off_t)((rnd >> 8) % 64) * BLK;
            SYS(aio_write(&cbs[i]));
            seq[i] = next++;
        }
    }
    for (int i = 0; i < DEPTH; i++)
        wait_done(&cbs[i]);
    return 0;
}
