/* DESCRIPTION: 150 aio_writev records to a pipe, submitted without waiting, are read back in submission order, and vectored reads queued on the pipe complete in order */
#include "support/ext.h"

#define N 150
#define REC 1500 /* three entries of 500: the pipe holds far less than N records */

int main(void)
{
    vec_require();
    int p[2];
    make_pipe(p);
    static struct aiocb cbs[N];
    static char recs[N][REC];
    static struct iovec iov[N][3];
    static const size_t lens[] = {500, 500, 500};
    for (int i = 0; i < N; i++) {
        pat_fill(recs[i], REC, 0, 200 + i);
        snprintf(recs[i], 16, "rec %03d", i);
        iov_split(iov[i], recs[i], lens, 3);
        cb_initv(&cbs[i], p[1], iov[i], 3, 0);
        if (x_aio_writev(&cbs[i]) != 0)
            die("aio_writev #%d", i);
    }
    static char back[REC];
    for (int i = 0; i < N; i++) {
        read_all(p[0], back, REC);
        if (memcmp(back, recs[i], REC) != 0)
            die("record %d read as \"%.7s\", expected \"%.7s\"", i, back, recs[i]);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    /* vectored reads queued on the empty pipe: served in submission order */
    enum { R = 8 };
    static struct aiocb rd[R];
    static char in[R][64];
    static struct iovec riov[R][2];
    static const size_t rl[] = {10, 54};
    for (int i = 0; i < R; i++) {
        iov_split(riov[i], in[i], rl, 2);
        cb_initv(&rd[i], p[0], riov[i], 2, 0);
        CHECK_EQ(x_aio_readv(&rd[i]), 0);
    }
    for (int i = 0; i < R; i++) {
        char msg[64];
        memset(msg, 'a' + i, sizeof msg);
        write_all(p[1], msg, sizeof msg);
        wait_done(&rd[i]);
        CHECK_DONE_OK(&rd[i], 64);
        for (int j = 0; j < 64; j++)
            if (in[i][j] != 'a' + i)
                die("read %d got byte %d = %c", i, j, in[i][j]);
    }
    return 0;
}
