/* DESCRIPTION: a pipe read submitted after the thread's aio_suspend took the previous read on that pipe to wait for it alone, pending while the program closes every descriptor above its own (closefrom over the library's numbers), ends exactly once without losing data (the byte read, or ECANCELED and the byte left), whether the program then polls aio_error or waits with aio_suspend; reads work again afterwards */
#include "support/fdtest.h"
#include "support/stream.h"

static char buf[4];

int main(void)
{
    int p[2];
    make_pipe(p);
    CHECK(p[0] < 64 && p[1] < 64);
    for (int i = 0; i < 4; i++) {
        waited_alone(p, buf, 'a');
        waited_alone(p, buf, 'b');
        struct aiocb cb;
        memset(buf, 0, sizeof buf);
        cb_init(&cb, p[0], buf, 1, 0);
        CHECK_EQ(aio_read(&cb), 0);
        CHECK_EQ(aio_error(&cb), EINPROGRESS);
        /* The library's descriptors (its duplicate of p[0], its epoll
         * instance, its eventfds) sit above 64; the program's stay. */
        close_from(64);
        write_all(p[1], "x", 1);
        if (i % 2) {
            wait_done(&cb);
        } else {
            long long deadline = now_ms() + DONE_MS;
            while (aio_error(&cb) == EINPROGRESS) {
                if (now_ms() > deadline)
                    die("the read did not end after closefrom");
                pause_us(200);
            }
        }
        check_x_read_or_left(&cb, buf, p[0]);
        char c;
        CHECK_EQ(read_available(p[0], &c, 1), 0);
    }
    waited_alone(p, buf, 'z');
    return 0;
}
