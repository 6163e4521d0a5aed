/* DESCRIPTION: before the first AIO call the process has one thread and no io_uring or eventfd descriptor; the first call works */
#include "support/common.h"

int main(void)
{
    /* Nothing AIO has happened yet (the library, if any, is loaded). */
    CHECK_EQ(thread_count(), 1);
    CHECK_EQ(count_fds("io_uring"), 0);
    CHECK_EQ(count_fds("eventfd"), 0);
    int fd = tmp_pattern_file(4096, 3);
    char buf[4096];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 4096);
    CHECK_PAT(buf, 4096, 0, 3);
    return 0;
}
