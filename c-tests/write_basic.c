/* DESCRIPTION: aio_write at an offset stores the bytes there (verified with pread) */
#include "support/common.h"

int main(void)
{
    int fd = tmp_open(0);
    char buf[12345], back[12345 + 100];
    struct aiocb cb;
    pat_fill(buf, sizeof buf, 70000, 2);
    cb_init(&cb, fd, buf, sizeof buf, 70000);
    CHECK_EQ(aio_write(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);

    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, 70000 + sizeof buf);
    /* the hole before the data reads as zeros */
    CHECK_EQ(pread(fd, back, 100, 69900), 100);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(back[i], 0);
    CHECK_EQ(pread(fd, back, sizeof buf, 70000), sizeof buf);
    CHECK_PAT(back, sizeof buf, 70000, 2);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
    return 0;
}
