/* DESCRIPTION: when io_uring_enter starts failing with EPERM after the first AIO calls (a seccomp filter installed late, in every thread), new reads, writes, pipe reads and fsyncs still complete, with the right data */
#include "support/fdtest.h"

#define NR_IO_URING_ENTER 426
#define N 16
#define BLK 4096

int main(void)
{
    int f = tmp_pattern_file(2 * N * BLK, 91);
    int p[2];
    make_pipe(p);
    /* the first AIO calls, with everything allowed */
    static char buf[N][BLK];
    static struct aiocb cbs[N + 2];
    for (int i = 0; i < 4; i++) {
        cb_init(&cbs[i], f, buf[i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    cb_init(&cbs[4], p[0], buf[4], 16, 0);
    CHECK_EQ(aio_read(&cbs[4]), 0);
    write_all(p[1], "before the filte", 16);
    for (int i = 0; i < 5; i++)
        wait_done(&cbs[i]);
    for (int i = 0; i < 4; i++)
        CHECK_PAT(buf[i], BLK, (long long)i * BLK, 91);
    CHECK_DONE_OK(&cbs[4], 16);

    /* a pending pipe read across the change */
    static char pbuf[16];
    struct aiocb across;
    cb_init(&across, p[0], pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&across), 0);

    deny_syscall_all_threads(NR_IO_URING_ENTER);

    /* reads of the first half, writes of the second half, a pipe read, an
     * fsync; all submitted now */
    for (int i = 0; i < N; i++) {
        off_t off = (off_t)(i % 2 ? N + i : i) * BLK;
        cb_init(&cbs[i], f, buf[i], BLK, off);
        if (i % 2) {
            pat_fill(buf[i], BLK, off, 92);
            CHECK_EQ(aio_write(&cbs[i]), 0);
        } else {
            CHECK_EQ(aio_read(&cbs[i]), 0);
        }
    }
    static char pbuf2[16];
    cb_init(&cbs[N], p[0], pbuf2, sizeof pbuf2, 0);
    CHECK_EQ(aio_read(&cbs[N]), 0);
    cb_init(&cbs[N + 1], f, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &cbs[N + 1]), 0);
    write_all(p[1], "after the filter", 16);
    write_all(p[1], "second pipe read", 16);

    for (int i = 0; i < N + 2; i++) {
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(&cbs[i]) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("request %d submitted after io_uring_enter was denied is "
                    "still in progress after %d ms", i, DONE_MS);
            const struct aiocb *l[1] = { &cbs[i] };
            struct timespec ts = ms_ts(100);
            aio_suspend(l, 1, &ts);
        }
    }
    wait_done(&across);
    for (int i = 0; i < N; i++) {
        off_t off = (off_t)(i % 2 ? N + i : i) * BLK;
        CHECK_DONE_OK(&cbs[i], BLK);
        if (i % 2 == 0)
            CHECK_PAT(buf[i], BLK, off, 91);
    }
    CHECK_DONE_OK(&cbs[N + 1], 0);
    /* the two pipe reads got the two messages, in order */
    CHECK_DONE_OK(&across, 16);
    CHECK_DONE_OK(&cbs[N], 16);
    CHECK(memcmp(pbuf, "after the filter", 16) == 0);
    CHECK(memcmp(pbuf2, "second pipe read", 16) == 0);
    static char back[BLK];
    for (int i = 1; i < N; i += 2) {
        off_t off = (off_t)(N + i) * BLK;
        CHECK_EQ(pread(f, back, BLK, off), BLK);
        CHECK_PAT(back, BLK, off, 92);
    }
    return 0;
}
