/*
 * Streams of N block writes on one descriptor and their checks, for the
 * tests of a number closed and reused under a busy stream (held_reuse_*).
 * Define WS_STREAMS (how many streams a test keeps) before including.
 */
#ifndef AIO_CTEST_WSTREAM_H
#define AIO_CTEST_WSTREAM_H

#include "common.h"

#define N 64
#define BLK 4096

static char bufs[WS_STREAMS][N][BLK];
static struct aiocb cbs[WS_STREAMS][N];

/* Submits N writes of pattern `seed` on `fd` (block i at offset i*BLK). */
CT_FN void stream(int k, int fd, unsigned seed)
{
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[k][i], BLK, (long long)i * BLK, seed);
        cb_init(&cbs[k][i], fd, bufs[k][i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_write(&cbs[k][i]), 0);
    }
}

/* Waits for stream k's writes, each of which must have written its block. */
CT_FN void wait_stream(int k)
{
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[k][i]);
        CHECK_DONE_OK(&cbs[k][i], BLK);
    }
}

/* The file behind fd holds the N blocks of pattern `seed`. */
CT_FN void check_file(int fd, unsigned seed, const char *name)
{
    static char back[N * BLK];
    ssize_t n = pread(fd, back, sizeof back, 0);
    if (n != (ssize_t)sizeof back)
        die("file %s holds %zd bytes, expected %d", name, n, N * BLK);
    CHECK_PAT(back, sizeof back, 0, seed);
}

#endif
