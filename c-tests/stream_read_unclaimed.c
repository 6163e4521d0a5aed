/* DESCRIPTION: a pipe read submitted after the thread's aio_suspend took the previous read on that pipe to wait for it alone, and then not waited for that way, still completes exactly once with the right byte: seen by polling aio_error, by aio_suspend on a list with another pending read, and cancelled by aio_cancel (AIO_CANCELED, the byte left in the pipe), repeatedly */
#include "support/fdtest.h"
#include "support/stream.h"

#define ROUNDS 30

static char buf[4];

int main(void)
{
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    for (int i = 0; i < ROUNDS; i++) {
        char byte = (char)('A' + i % 26);
        waited_alone(p, buf, byte);
        struct aiocb cb;
        cb_init(&cb, p[0], buf, 1, 0);
        CHECK_EQ(aio_read(&cb), 0);
        finish_unclaimed(p, q, &cb, buf, byte, i % 3);
    }
    return 0;
}
