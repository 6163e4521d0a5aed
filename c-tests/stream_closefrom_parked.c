/* DESCRIPTION: a socket read pending while the program closes every descriptor above its own (closefrom over the library's numbers) ends exactly once without losing data: it either reads what the peer then writes, or ends with ECANCELED and the bytes stay for the next reader; a new aio_read then works */
#include "support/fdtest.h"
#include "support/stream.h"

int main(void)
{
    int p[2];
    make_socketpair(p);
    CHECK(p[0] < 64 && p[1] < 64);
    char buf[8] = { 0 };
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    /* The library's descriptors (its duplicate of p[0], its epoll instance, its eventfds) sit
     * above 64; the program's two stay. */
    close_from(64);
    write_all(p[1], "x", 1);
    wait_done(&cb);
    check_x_read_or_left(&cb, buf, p[0]);
    /* Nothing else arrived, and the library works again on the same socket. */
    char c;
    CHECK_ERR(recv(p[0], &c, 1, MSG_DONTWAIT), EAGAIN);
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    struct aiocb cb2;
    char buf2[8] = { 0 };
    cb_init(&cb2, p[0], buf2, sizeof buf2, 0);
    /* A second one, so that at least one waits for readiness with a fresh epoll instance. */
    write_all(p[1], "yz", 2);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2);
    CHECK(memcmp(buf, "yz", 2) == 0);
    CHECK_EQ(aio_read(&cb2), 0);
    write_all(p[1], "w", 1);
    wait_done(&cb2);
    CHECK_DONE_OK(&cb2, 1);
    CHECK_EQ(buf2[0], 'w');
    close(p[0]);
    close(p[1]);
    return 0;
}
