/* DESCRIPTION: fio's posixaio loop on one file: 32 buffered writes kept in flight (each slot writes its own block again as soon as its last write completed), waited for with aio_suspend on the list of those in progress, 12000 writes in all: each completes once with its full count, and each block holds its slot's last write */
#include "support/common.h"

#define DEPTH 32
#define TOTAL 12000
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
    int submitted = 0, done = 0, busy[DEPTH] = { 0 };
    for (int k = 0; k < DEPTH; k++) {
        submit(fd, k, (unsigned)++submitted);
        busy[k] = 1;
    }
    long long deadline = now_ms() + 8000;
    while (done < TOTAL) {
        const struct aiocb *list[DEPTH];
        int n = 0, reaped = 0;
        for (int k = 0; k < DEPTH; k++) {
            if (!busy[k])
                continue;
            int e = aio_error(&cbs[k]);
            if (e == EINPROGRESS) {
                list[n++] = &cbs[k];
                continue;
            }
            CHECK_EQ(e, 0);
            CHECK_EQ(aio_return(&cbs[k]), BLK);
            busy[k] = 0;
            done++;
            reaped++;
            if (submitted < TOTAL) {
                submit(fd, k, (unsigned)++submitted);
                busy[k] = 1;
            }
        }
        if (reaped || n == 0)
            continue;
        if (now_ms() > deadline)
            die("%d of %d writes done after 8 s", done, TOTAL);
        struct timespec ts = ms_ts(1000);
        if (aio_suspend(list, n, &ts) != 0 && errno != EAGAIN && errno != EINTR)
            die("aio_suspend");
    }
    char back[BLK];
    for (int k = 0; k < DEPTH; k++) {
        CHECK_EQ(pread(fd, back, BLK, (off_t)k * BLK), BLK);
        CHECK_PAT(back, BLK, (long long)k * BLK, seeds[k]);
    }
    return 0;
}
