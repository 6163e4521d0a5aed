/* DESCRIPTION: a thread asleep in aio_suspend for the oldest of a burst of buffered writes on one file (more queued behind it, more submitted while it sleeps) is woken for it every time: 3000 such waits with a 3 s timeout never time out, each write completes once with its full count, and the file holds the last write of every block */
#include "support/common.h"

#define DEPTH 64
#define TOTAL 3000
#define BLK 4096

static char bufs[DEPTH][BLK];
static struct aiocb cbs[DEPTH];
static unsigned seeds[DEPTH];

/* Slot k writes its block with pattern `seed`. */
static void submit(int fd, int k, unsigned seed)
{
    seeds[k] = seed;
    slot_write(&cbs[k], bufs[k], BLK, fd, k, seed);
}

int main(void)
{
    int fd = tmp_open(0);
    int submitted = 0;
    for (int k = 0; k < DEPTH; k++)
        submit(fd, k, (unsigned)++submitted);
    /* The slots in submission order: the oldest is waited for alone, then written again, so
     * the queue behind it stays full while the waiter sleeps. */
    for (int done = 0; done < TOTAL; done++) {
        int k = done % DEPTH;
        const struct aiocb *one[1] = { &cbs[k] };
        long long t0 = now_ms();
        while (aio_error(&cbs[k]) == EINPROGRESS) {
            struct timespec ts = ms_ts(3000);
            if (aio_suspend(one, 1, &ts) != 0) {
                if (errno == EAGAIN)
                    die("write %d: aio_suspend timed out after %lld ms, its write still %s", done,
                        now_ms() - t0, aio_error(&cbs[k]) == EINPROGRESS ? "in progress" : "done");
                CHECK_EQ(errno, EINTR);
            }
        }
        CHECK_EQ(aio_error(&cbs[k]), 0);
        CHECK_EQ(aio_return(&cbs[k]), BLK);
        if (submitted < TOTAL)
            submit(fd, k, (unsigned)++submitted);
    }
    /* Every write was waited for and reaped above, in submission order. */
    char back[BLK];
    for (int k = 0; k < DEPTH; k++) {
        CHECK_EQ(pread(fd, back, BLK, (off_t)k * BLK), BLK);
        CHECK_PAT(back, BLK, (long long)k * BLK, seeds[k]);
    }
    return 0;
}
