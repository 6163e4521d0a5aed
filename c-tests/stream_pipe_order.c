/* DESCRIPTION: eight aio_reads pending on one empty pipe get the bytes in submission order when the data arrives, whatever engine waits for the pipe */
#include "support/stream.h"

#define NR 8
#define CHUNK 4

int main(void)
{
    int p[2];
    SYS(pipe(p));
    char bufs[NR][CHUNK];
    struct aiocb cbs[NR];
    for (int i = 0; i < NR; i++) {
        cb_init(&cbs[i], p[0], bufs[i], CHUNK, 0);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    for (int i = 0; i < NR; i++)
        CHECK_EQ(aio_error(&cbs[i]), EINPROGRESS);
    /* One chunk at a time, each waited for: the earliest pending read must take it. */
    for (int i = 0; i < NR / 2; i++) {
        char msg[CHUNK];
        memset(msg, 'a' + i, CHUNK);
        write_all(p[1], msg, CHUNK);
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], CHUNK);
        CHECK(memcmp(bufs[i], msg, CHUNK) == 0);
        for (int j = i + 1; j < NR; j++)
            CHECK_EQ(aio_error(&cbs[j]), EINPROGRESS);
    }
    /* The rest in one write: still in order. */
    char all[NR / 2 * CHUNK];
    for (int i = NR / 2; i < NR; i++)
        memset(all + (i - NR / 2) * CHUNK, 'a' + i, CHUNK);
    write_all(p[1], all, sizeof all);
    for (int i = NR / 2; i < NR; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], CHUNK);
        for (int k = 0; k < CHUNK; k++)
            CHECK_EQ(bufs[i][k], 'a' + i);
    }
    close(p[0]);
    close(p[1]);
    return 0;
}
