/* DESCRIPTION: aio_write of 1 MiB to a pipe nobody reads returns at once, then completes when a reader drains it */
#include "support/common.h"

#define SZ (1 << 20)

int main(void)
{
    int p[2];
    make_pipe(p);
    char *out = malloc(SZ), *in = malloc(SZ);
    if (!out || !in)
        skip("out of memory");
    pat_fill(out, SZ, 0, 42);
    struct aiocb cb;
    cb_init(&cb, p[1], out, SZ, 0);
    long long t0 = now_ns();
    CHECK_EQ(aio_write(&cb), 0);
    long long dt = now_ns() - t0;
    if (dt > NOBLOCK_NS)
        die("aio_write to a full pipe took %lld ms to return", dt / 1000000);
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(50);
    if (aio_suspend(list, 1, &ts) == 0 || aio_error(&cb) != EINPROGRESS)
        die("the write finished with nobody reading: aio_error %d, "
            "aio_return %zd (a pipe write on a blocking fd must not complete "
            "short)", aio_error(&cb), aio_return(&cb));
    CHECK_EQ(errno, EAGAIN);
    read_all(p[0], in, SZ);
    CHECK_PAT(in, SZ, 0, 42);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, SZ);
    free(in);
    free(out);
    return 0;
}
