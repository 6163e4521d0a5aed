/* DESCRIPTION: aio_suspend returns 0 at once when a listed request is already complete, even with an invalid timeout (tv_nsec -1 or 2e9, tv_sec -1) */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(4096, 52);
    int p[2];
    make_pipe(p);
    char buf[64], pbuf[8];
    struct aiocb done, pending;
    cb_init(&done, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&done), 0);
    wait_done(&done);
    CHECK_DONE_OK(&done, sizeof buf);
    cb_init(&pending, p[0], pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&pending), 0);

    struct timespec bad[] = { { 0, -1 }, { 0, 2000000000L },
                              { 0, 1000000000L }, { -1, 0 },
                              { -1, -1 } };
    /* the complete request alone, after a pending one, among NULLs */
    const struct aiocb *lists[][3] = { { &done, NULL, NULL },
                                       { &pending, &done, NULL },
                                       { NULL, &done, &pending } };
    int lens[] = { 1, 2, 3 };
    for (unsigned l = 0; l < 3; l++)
        for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            errno = 0;
            long long t0 = now_ms();
            int r = aio_suspend(lists[l], lens[l], &bad[i]);
            if (r != 0)
                die("list %u, timeout {%ld, %ld}: aio_suspend returned %d "
                    "errno %d, expected 0", l, (long)bad[i].tv_sec,
                    bad[i].tv_nsec, r, errno);
            if (now_ms() - t0 > 1000)
                die("aio_suspend waited although a request was done");
        }
    CHECK_EQ(aio_error(&pending), EINPROGRESS);
    write_all(p[1], "end", 3);
    wait_done(&pending);
    CHECK_DONE_OK(&pending, 3);
    return 0;
}
