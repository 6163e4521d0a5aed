/* DESCRIPTION: on /dev/null aio_write reports all bytes written and aio_read reports 0 (EOF) */
#include "support/common.h"

int main(void)
{
    int fd = SYS(open("/dev/null", O_RDWR));
    char buf[4096];
    memset(buf, 'q', sizeof buf);
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 12345);
    CHECK_EQ(aio_write(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 0);
    CHECK_EQ(buf[0], 'q');
    struct aiocb fs;
    cb_init(&fs, fd, NULL, 0, 0);
    if (aio_fsync(O_SYNC, &fs) == 0) {
        /* fsync on /dev/null: EINVAL from the kernel is fine, like fsync() */
        wait_done(&fs);
        int e = aio_error(&fs);
        if (e != 0 && e != EINVAL)
            die("aio_fsync on /dev/null: error %d", e);
    } else if (errno != EINVAL) {
        die("aio_fsync on /dev/null");
    }
    return 0;
}
