/* DESCRIPTION: aio_reads pending on many sockets at once: one cancelled by its aiocb and one by aio_cancel(fd, NULL) answer AIO_CANCELED and leave their data for the next reader; the others still complete */
/* GLIBC-XFAIL: glibc cannot cancel a request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/stream.h"

#define NS 40

int main(void)
{
    int pr[NS][2];
    char bufs[NS][16];
    struct aiocb cbs[NS];
    for (int i = 0; i < NS; i++) {
        make_socketpair(pr[i]);
        cb_init(&cbs[i], pr[i][0], bufs[i], sizeof bufs[i], 0);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    const int one = NS / 2, all = NS - 1;
    int r = aio_cancel(pr[one][0], &cbs[one]);
    int r2 = aio_cancel(pr[all][0], NULL);
    if (r != AIO_CANCELED || r2 != AIO_CANCELED) {
        for (int i = 0; i < NS; i++)
            write_all(pr[i][1], "unblock", 7);
        for (int i = 0; i < NS; i++)
            wait_done(&cbs[i]);
        die("aio_cancel returned %d and %d, expected AIO_CANCELED twice", r, r2);
    }
    for (int i = 0; i < NS; i++) {
        if (i == one || i == all) {
            CHECK_EQ(aio_error(&cbs[i]), ECANCELED);
            CHECK_EQ(aio_return(&cbs[i]), -1);
        } else {
            CHECK_EQ(aio_error(&cbs[i]), EINPROGRESS);
        }
    }
    for (int i = 0; i < NS; i++) {
        char msg[8];
        snprintf(msg, sizeof msg, "m%06d", i);
        write_all(pr[i][1], msg, 7);
    }
    for (int i = 0; i < NS; i++) {
        char msg[8];
        snprintf(msg, sizeof msg, "m%06d", i);
        if (i == one || i == all) {
            char back[7];
            read_soon(pr[i][0], back, sizeof back);
            CHECK(memcmp(back, msg, 7) == 0);
        } else {
            wait_done(&cbs[i]);
            CHECK_DONE_OK(&cbs[i], 7);
            CHECK(memcmp(bufs[i], msg, 7) == 0);
        }
    }
    for (int i = 0; i < NS; i++) {
        close(pr[i][0]);
        close(pr[i][1]);
    }
    return 0;
}
