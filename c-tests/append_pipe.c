/* DESCRIPTION: 200 aio_writes to a pipe, submitted without waiting, are read back in submission order */
#include "support/common.h"

#define N 200
#define REC 1024 /* < PIPE_BUF, so each write is atomic; 200 KiB > pipe size */

int main(void)
{
    int p[2];
    make_pipe(p);
    static struct aiocb cbs[N];
    static char recs[N][REC];
    for (int i = 0; i < N; i++) {
        pat_fill(recs[i], REC, 0, 100 + i);
        snprintf(recs[i], 16, "rec %03d", i);
        cb_init(&cbs[i], p[1], recs[i], REC, 0);
        if (aio_write(&cbs[i]) != 0)
            die("aio_write #%d", i);
    }
    /* the pipe holds far less than 200 KiB: submission must not block */
    static char back[REC];
    for (int i = 0; i < N; i++) {
        read_all(p[0], back, REC);
        if (memcmp(back, recs[i], REC) != 0)
            die("record %d read as \"%.7s\", expected \"%.7s\"", i, back,
                recs[i]);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    return 0;
}
