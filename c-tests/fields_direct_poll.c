/* DESCRIPTION: an O_DIRECT SIGEV_NONE read's own __error_code and __return_value become current while the program only polls those fields (calls nothing of the AIO library) */
#include "support/common.h"

#define BLK 4096

/* The status word as another thread (the library's, or the kernel's reaper) stores it. */
static int field_error(const struct aiocb *cb)
{
    return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

int main(void)
{
    int fd = tmp_open_direct();
    void *wbuf, *rbuf;
    CHECK_EQ(posix_memalign(&wbuf, BLK, BLK), 0);
    CHECK_EQ(posix_memalign(&rbuf, BLK, BLK), 0);
    pat_fill(wbuf, BLK, 0, 7);
    CHECK_EQ(pwrite(fd, wbuf, BLK, 0), BLK);
    for (int round = 0; round < 3; round++) {
        memset(rbuf, 0, BLK);
        struct aiocb cb;
        cb_init(&cb, fd, rbuf, BLK, 0);
        CHECK_EQ(aio_read(&cb), 0);
        /* Only the fields: no aio_error, aio_return, aio_suspend or aio_cancel until they say done. */
        long long deadline = now_ms() + 5000;
        while (field_error(&cb) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("round %d: __error_code still EINPROGRESS after 5 s of polling it", round);
            sched_yield();
        }
        CHECK_EQ(field_error(&cb), 0);
        CHECK_EQ(cb.__return_value, BLK);
        CHECK_PAT(rbuf, BLK, 0, 7);
        CHECK_DONE_OK(&cb, BLK);
    }
    free(rbuf);
    free(wbuf);
    return 0;
}
