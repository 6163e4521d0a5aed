/* DESCRIPTION: a pipe read submitted after reads that found their data at once, themselves after a read the thread's aio_suspend took to wait for it alone, completes exactly once with the right byte however it is then waited for: by polling aio_error, by aio_suspend on a list with another pending read, alone in aio_suspend, or cancelled by aio_cancel (AIO_CANCELED, the byte left in the pipe), repeatedly */
#include "support/fdtest.h"
#include "support/stream.h"

#define ROUNDS 40

static char buf[4];

/* Polls aio_error (no aio_suspend) until cb is done, within DONE_MS. */
static void poll_done(struct aiocb *cb)
{
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("a read not waited for with aio_suspend did not complete");
        pause_us(200);
    }
}

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
        struct aiocb cb;
        cb_init(&cb, p[0], buf, 1, 0);
        buf[0] = 0;
        CHECK_EQ(aio_read(&cb), 0);
        switch (i % 4) {
        case 0:
            write_all(p[1], &byte, 1);
            poll_done(&cb);
            CHECK_DONE_OK(&cb, 1);
            CHECK_EQ(buf[0], byte);
            break;
        case 1: {
            char other;
            struct aiocb cq;
            cb_init(&cq, q[0], &other, 1, 0);
            CHECK_EQ(aio_read(&cq), 0);
            write_all(p[1], &byte, 1);
            const struct aiocb *two[2] = { &cq, &cb };
            long long deadline = now_ms() + DONE_MS;
            while (aio_error(&cb) == EINPROGRESS) {
                if (now_ms() > deadline)
                    die("aio_suspend on two requests missed the fed one");
                struct timespec ts = ms_ts(DONE_MS);
                if (aio_suspend(two, 2, &ts) != 0 && errno != EINTR)
                    die("aio_suspend on two requests");
            }
            CHECK_DONE_OK(&cb, 1);
            CHECK_EQ(buf[0], byte);
            CHECK_EQ(aio_error(&cq), EINPROGRESS);
            write_all(q[1], "q", 1);
            wait_done(&cq);
            CHECK_DONE_OK(&cq, 1);
            CHECK_EQ(other, 'q');
            break;
        }
        case 2: {
            const struct aiocb *one[1] = { &cb };
            struct timespec ts = ms_ts(5);
            CHECK_ERR(aio_suspend(one, 1, &ts), EAGAIN);
            write_all(p[1], &byte, 1);
            wait_done(&cb);
            CHECK_DONE_OK(&cb, 1);
            CHECK_EQ(buf[0], byte);
            break;
        }
        default: {
            int r = aio_cancel(p[0], &cb);
            write_all(p[1], &byte, 1);
            if (r == AIO_CANCELED) {
                CHECK_EQ(aio_error(&cb), ECANCELED);
                CHECK_EQ(aio_return(&cb), -1);
                char c;
                read_within(p[0], &c, 1, DONE_MS);
                CHECK_EQ(c, byte);
            } else {
                /* glibc: its thread is already blocked in read */
                CHECK_EQ(r, AIO_NOTCANCELED);
                wait_done(&cb);
                CHECK_DONE_OK(&cb, 1);
                CHECK_EQ(buf[0], byte);
            }
        }
        }
        char left;
        CHECK_EQ(read_available(p[0], &left, 1), 0);
    }
    return 0;
}
