/* DESCRIPTION: aio_suspend with the same pending aiocb listed twice (alone, among NULLs, next to a request on another pipe), 300 round trips: every wait wakes for the data, each read completes exactly once with its byte, and afterwards a plain wait, a timeout and aio_cancel behave as usual (nothing left claimed or counted twice) */
#define TEST_ALARM 30
#include "support/common.h"

enum { ROUNDS = 300 };

static int go[2], data[2];

/* Writes one byte of data for each byte of go. */
static void *echo(void *arg)
{
    (void)arg;
    char c;
    for (;;) {
        ssize_t r = read(go[0], &c, 1);
        if (r == 0)
            return NULL;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read go");
        }
        write_all(data[1], &c, 1);
    }
}

int main(void)
{
    make_pipe(go);
    make_pipe(data);
    int other[2];
    make_pipe(other);
    pthread_t t;
    if (pthread_create(&t, NULL, echo, NULL) != 0)
        die("pthread_create");
    char idle_byte;
    struct aiocb idle;
    cb_init(&idle, other[0], &idle_byte, 1, 0);
    CHECK_EQ(aio_read(&idle), 0);
    for (int i = 0; i < ROUNDS; i++) {
        char in = 0, out = (char)('a' + i % 26);
        struct aiocb cb;
        cb_init(&cb, data[0], &in, 1, 0);
        CHECK_EQ(aio_read(&cb), 0);
        write_all(go[1], &out, 1);
        const struct aiocb *lists[4][4] = {
            { &cb, &cb },
            { NULL, &cb, NULL, &cb },
            { &cb, &idle, &cb },
            { &cb, &cb, &cb, &cb },
        };
        const int lens[4] = { 2, 4, 3, 4 };
        int k = i % 4;
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(&cb) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("round %d: the read listed twice never completed", i);
            struct timespec ts = ms_ts(DONE_MS);
            int r = aio_suspend(lists[k], lens[k], &ts);
            if (r != 0 && errno != EINTR)
                die("round %d: aio_suspend returned %d", i, r);
        }
        CHECK_DONE_OK(&cb, 1);
        if (in != out)
            die("round %d: read %d, expected %d", i, in, out);
    }
    /* Nothing of the reads above is left: a read listed twice that gets no data times out, is
     * cancelled, and leaves later data for the program. */
    char in = 0;
    struct aiocb cb;
    cb_init(&cb, data[0], &in, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *twice[2] = { &cb, &cb };
    struct timespec ts = ms_ts(20);
    CHECK_ERR(aio_suspend(twice, 2, &ts), EAGAIN);
    int cr = aio_cancel(data[0], &cb);
    if (cr == AIO_NOTCANCELED && !is_aio_rs((void *)aio_cancel)) {
        /* glibc cannot cancel a read its thread is blocked in. */
        write_all(go[1], "c", 1);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 1);
        CHECK_EQ(in, 'c');
    } else {
        CHECK_EQ(cr, AIO_CANCELED);
        CHECK_EQ(aio_error(&cb), ECANCELED);
        CHECK_EQ(aio_return(&cb), -1);
        CHECK_EQ(in, 0);
    }
    CHECK_EQ(aio_error(&idle), EINPROGRESS);
    write_all(other[1], "i", 1);
    wait_done(&idle);
    CHECK_DONE_OK(&idle, 1);
    CHECK_EQ(idle_byte, 'i');
    write_all(go[1], "z", 1);
    char z = 0;
    read_all(data[0], &z, 1);
    CHECK_EQ(z, 'z');
    close(go[1]);
    pthread_join(t, NULL);
    return 0;
}
