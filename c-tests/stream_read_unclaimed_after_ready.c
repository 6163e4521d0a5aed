/* DESCRIPTION: a pipe read submitted after reads that found their data at once, themselves after a read the thread's aio_suspend took to wait for it alone, completes exactly once with the right byte however it is then waited for: by polling aio_error, by aio_suspend on a list with another pending read, alone in aio_suspend, or cancelled by aio_cancel (AIO_CANCELED, the byte left in the pipe), repeatedly */
#include "support/fdtest.h"
#include "support/stream.h"

#define ROUNDS 40

static char buf[4];

/* A read whose byte is in the pipe before it is submitted. */
static void ready_read(int p[2], char byte)
{
    struct aiocb cb;
    write_all(p[1], &byte, 1);
    cb_init(&cb, p[0], buf, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ(buf[0], byte);
}

int main(void)
{
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    for (int i = 0; i < ROUNDS; i++) {
        char byte = (char)('A' + i % 26);
        waited_alone(p, buf, byte);
        for (int k = 0; k <= i % 3; k++)
            ready_read(p, (char)('a' + k));
        buf[0] = 0;
        if (i % 4 == 2) {
            /* Alone in aio_suspend, first timing out. */
            waited_alone(p, buf, byte);
            char left;
            CHECK_EQ(read_available(p[0], &left, 1), 0);
        } else {
            struct aiocb cb;
            cb_init(&cb, p[0], buf, 1, 0);
            CHECK_EQ(aio_read(&cb), 0);
            finish_unclaimed(p, q, &cb, buf, byte, i % 4 == 3 ? 2 : i % 4);
        }
    }
    return 0;
}
