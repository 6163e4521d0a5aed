/* DESCRIPTION: SIGEV_SIGNAL with signal number 65 or -1 is rejected with EINVAL (0 means no signal: a memset aiocb asks for it) */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(4096, 9);
    char buf[64];
    struct aiocb cb;
    int bad[] = { 65, -1 };
    for (int i = 0; i < 2; i++) {
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        cb.aio_sigevent.sigev_signo = bad[i];
        errno = 0;
        int r = aio_read(&cb);
        if (r == -1) {
            if (errno != EINVAL)
                die("signo %d: errno %d, expected EINVAL", bad[i], errno);
            continue;
        }
        CHECK_EQ(r, 0);
        wait_done(&cb);
        if (aio_error(&cb) != EINVAL)
            die("signo %d accepted: aio_error %d", bad[i], aio_error(&cb));
        CHECK_EQ(aio_return(&cb), -1);
    }
    return 0;
}
