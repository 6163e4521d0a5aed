/* DESCRIPTION: aio_read crossing end of file completes with the short count; at/after EOF with 0 */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(5000, 3);
    char buf[4096];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 4000);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1000);
    CHECK_PAT(buf, 1000, 4000, 3);

    cb_init(&cb, fd, buf, sizeof buf, 5000);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);

    cb_init(&cb, fd, buf, sizeof buf, 1 << 30);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    return 0;
}
