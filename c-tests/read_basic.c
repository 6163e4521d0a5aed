/* DESCRIPTION: aio_read at a non-zero offset returns the bytes at that offset */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, 1);
    char buf[10000];
    struct aiocb cb;
    memset(buf, 0, sizeof buf);
    cb_init(&cb, fd, buf, sizeof buf, 123457);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 123457, 1);
    /* the file position is not used nor moved by aio_read */
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
    return 0;
}
