/* DESCRIPTION: 64 O_DIRECT SIGEV_NONE reads in flight at once all get their own __error_code and __return_value while the program only polls those fields */
#include "support/common.h"

#define BLK 4096
#define NR 64

static int field_error(const struct aiocb *cb)
{
    return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

int main(void)
{
    int fd = tmp_open_direct();
    void *wbuf, *rbuf;
    CHECK_EQ(posix_memalign(&wbuf, BLK, NR * BLK), 0);
    CHECK_EQ(posix_memalign(&rbuf, BLK, NR * BLK), 0);
    pat_fill(wbuf, NR * BLK, 0, 11);
    CHECK_EQ(pwrite(fd, wbuf, NR * BLK, 0), NR * BLK);
    memset(rbuf, 0, NR * BLK);
    static struct aiocb cb[NR];
    /* In an order the device does not serve front to back, all submitted before any is looked at. */
    for (int i = 0; i < NR; i++) {
        int b = (i * 37) % NR;
        cb_init(&cb[b], fd, (char *)rbuf + b * BLK, BLK, (off_t)b * BLK);
        if (aio_read(&cb[b]) != 0)
            die("aio_read #%d", b);
    }
    long long deadline = now_ms() + 5000;
    for (int i = 0; i < NR; i++) {
        while (field_error(&cb[i]) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("request %d: __error_code still EINPROGRESS after 5 s of polling the fields", i);
            sched_yield();
        }
        if (field_error(&cb[i]) != 0 || cb[i].__return_value != BLK)
            die("request %d: fields say error %d, return %zd", i, field_error(&cb[i]), cb[i].__return_value);
    }
    CHECK_PAT(rbuf, NR * BLK, 0, 11);
    for (int i = 0; i < NR; i++)
        CHECK_DONE_OK(&cb[i], BLK);
    free(rbuf);
    free(wbuf);
    return 0;
}
