/* DESCRIPTION: a long stream of page-cached reads on 32 aiocbs, each submitted again as soon as it is seen done (fio's posixaio loop: aio_error over the list, aio_suspend on some in progress when none is done), all complete exactly once with the right data, whoever issues their batches */
#include "support/defer.h"

#define SEED 53
enum { DEPTH = 32, SZ = 1024, BLOCKS = 1024, TOTAL = 40000, SUSPEND = 8 };

static off_t next_off(unsigned *rnd)
{
    *rnd = *rnd * 1103515245u + 12345u;
    return (off_t)((*rnd >> 8) % BLOCKS) * SZ;
}

int main(void)
{
    int fd = tmp_pattern_file((size_t)BLOCKS * SZ, SEED);
    defer_prime(fd, SEED);
    static char buf[DEPTH][SZ];
    static struct aiocb cb[DEPTH];
    unsigned rnd = 7;
    long issued = 0, done = 0;
    for (int i = 0; i < DEPTH; i++, issued++) {
        memset(buf[i], 0, SZ);
        cb_init(&cb[i], fd, buf[i], SZ, next_off(&rnd));
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    int live = DEPTH;
    long long deadline = now_ms() + 20000;
    while (live > 0) {
        const struct aiocb *wait[SUSPEND];
        int nwait = 0, seen = 0;
        for (int i = 0; i < DEPTH; i++) {
            if (cb[i].aio_fildes < 0)
                continue;
            int e = aio_error(&cb[i]);
            if (e == EINPROGRESS) {
                if (nwait < SUSPEND)
                    wait[nwait++] = &cb[i];
                continue;
            }
            CHECK_EQ(e, 0);
            CHECK_EQ(aio_return(&cb[i]), SZ);
            CHECK_PAT(buf[i], SZ, (long long)cb[i].aio_offset, SEED);
            done++;
            seen++;
            if (issued < TOTAL) {
                /* A completion reported twice would show here: the same aiocb is in flight
                 * again, at another offset, and a stale result would end it early. */
                memset(buf[i], 0, SZ);
                cb_init(&cb[i], fd, buf[i], SZ, next_off(&rnd));
                CHECK_EQ(aio_read(&cb[i]), 0);
                issued++;
            } else {
                cb[i].aio_fildes = -1;
                live--;
            }
        }
        if (seen == 0 && nwait > 0) {
            long long left = deadline - now_ms();
            if (left <= 0)
                die("%ld of %d reads done; the rest did not complete in time", done, TOTAL);
            struct timespec ts = ms_ts(left < 1000 ? left : 1000);
            if (aio_suspend(wait, nwait, &ts) != 0 && errno != EAGAIN && errno != EINTR)
                die("aio_suspend");
        }
    }
    CHECK_EQ(done, TOTAL);
    return 0;
}
