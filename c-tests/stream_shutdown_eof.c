/* DESCRIPTION: a pending socket read ends with 0 (end of file) when the socket is shut down under it: by the peer (SHUT_WR) or on its own side (SHUT_RD), whether it waits in the library's readiness set, is waited for alone in aio_suspend, or was submitted after such a wait; and a read submitted on a socket already shut down completes with 0 at once */
#include "support/common.h"
#include "support/stream.h"
#include <sys/socket.h>

/* how: 0 peer SHUT_WR, 1 own SHUT_RD. wait: 0 poll aio_error, 1 aio_suspend alone (from the
 * start, so it may be claimed), 2 aio_suspend once before (so the read may be left for it). */
static void one(int how, int wait, int tcp)
{
    int s[2];
    if (tcp)
        make_tcp_pair(s);
    else
        make_socketpair(s);
    char buf[16] = { 0 };
    struct aiocb cb;
    if (wait == 2) {
        /* A first read waited for alone and served, so the next one may be left to the wait. */
        read_fed_byte(s[0], s[1], buf, 'x');
    }
    cb_init(&cb, s[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    if (wait >= 1) {
        const struct aiocb *l[1] = { &cb };
        struct timespec ts = ms_ts(5);
        CHECK_ERR(aio_suspend(l, 1, &ts), EAGAIN);
    }
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    SYS(shutdown(how ? s[0] : s[1], how ? SHUT_RD : SHUT_WR));
    if (wait == 0) {
        WAIT_UNTIL(aio_error(&cb) != EINPROGRESS, DONE_MS);
    } else {
        wait_done(&cb);
    }
    int e = aio_error(&cb);
    ssize_t r = aio_return(&cb);
    if (e != 0 || r != 0)
        die("%s socket, %s, wait %d: aio_error %d, aio_return %zd; expected end of file",
            tcp ? "TCP" : "unix", how ? "own SHUT_RD" : "peer SHUT_WR", wait, e, r);
    /* A read submitted now ends at once with 0 too. */
    cb_init(&cb, s[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    close(s[0]);
    close(s[1]);
}

int main(void)
{
    for (int tcp = 0; tcp < 2; tcp++)
        for (int how = 0; how < 2; how++)
            for (int wait = 0; wait < 3; wait++)
                one(how, wait, tcp);
    return 0;
}
