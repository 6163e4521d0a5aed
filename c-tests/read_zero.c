/* DESCRIPTION: aio_read and aio_write of 0 bytes complete with result 0 and change nothing */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(100, 4);
    char buf[16] = "untouched";
    struct aiocb cb;
    cb_init(&cb, fd, buf, 0, 10);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    CHECK(strcmp(buf, "untouched") == 0);

    cb_init(&cb, fd, buf, 0, 1000);
    CHECK_EQ(aio_write(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, 100);
    return 0;
}
