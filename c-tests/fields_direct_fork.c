/* DESCRIPTION: after fork, an O_DIRECT SIGEV_NONE read in the child, and one in the parent, each get their own status fields while their process only polls them */
/* GLIBC-XFAIL: glibc's fork child counts the parent's idle AIO thread, which it did not inherit, and hands its request to it: the request never runs */
#include "support/common.h"

#define BLK 4096

static int field_error(const struct aiocb *cb)
{
    return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

/* Reads block b and polls only the aiocb's fields (5 s at most); then checks the data. */
static void read_polling_fields(int fd, void *buf, int b, const char *who)
{
    struct aiocb cb;
    memset(buf, 0, BLK);
    cb_init(&cb, fd, buf, BLK, (off_t)b * BLK);
    if (aio_read(&cb) != 0)
        die("%s: aio_read", who);
    long long deadline = now_ms() + 5000;
    while (field_error(&cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("%s: __error_code still EINPROGRESS after 5 s of polling it", who);
        sched_yield();
    }
    if (field_error(&cb) != 0 || cb.__return_value != BLK)
        die("%s: fields say error %d, return %zd", who, field_error(&cb), cb.__return_value);
    CHECK_PAT(buf, BLK, (long long)b * BLK, 5);
    CHECK_DONE_OK(&cb, BLK);
}

int main(void)
{
    int fd = tmp_open_direct();
    void *wbuf, *rbuf;
    CHECK_EQ(posix_memalign(&wbuf, BLK, 4 * BLK), 0);
    CHECK_EQ(posix_memalign(&rbuf, BLK, BLK), 0);
    pat_fill(wbuf, 4 * BLK, 0, 5);
    CHECK_EQ(pwrite(fd, wbuf, 4 * BLK, 0), 4 * BLK);
    /* The parent's engine (and its helper) runs before the fork. */
    read_polling_fields(fd, rbuf, 0, "parent before fork");
    pid_t pid = SYS(fork());
    if (pid == 0) {
        read_polling_fields(fd, rbuf, 1, "child");
        read_polling_fields(fd, rbuf, 2, "child, again");
        _exit(0);
    }
    read_polling_fields(fd, rbuf, 3, "parent after fork");
    wait_child_ok(pid, "child");
    free(rbuf);
    free(wbuf);
    return 0;
}
