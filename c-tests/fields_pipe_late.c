/* DESCRIPTION: a SIGEV_NONE pipe read whose data comes only after a while (a request in flight with no completion for a long time) gets its own status fields while the program only polls them */
#include "support/common.h"

static int field_error(const struct aiocb *cb)
{
    return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

int main(void)
{
    int p[2];
    make_pipe(p);
    char buf[16] = { 0 };
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    /* Not synchronisation: long enough that nothing has completed for a while when the data
     * comes (the library may then wait for completions differently). */
    pause_us(300 * 1000);
    CHECK_EQ(field_error(&cb), EINPROGRESS);
    CHECK_EQ(write(p[1], "late", 4), 4);
    long long deadline = now_ms() + 5000;
    while (field_error(&cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("__error_code still EINPROGRESS 5 s after the data was written");
        sched_yield();
    }
    CHECK_EQ(field_error(&cb), 0);
    CHECK_EQ(cb.__return_value, 4);
    CHECK_EQ(memcmp(buf, "late", 4), 0);
    CHECK_DONE_OK(&cb, 4);
    return 0;
}
