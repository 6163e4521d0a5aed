/* DESCRIPTION: a pending aio_read on an AF_UNIX socketpair is cancelled (AIO_CANCELED) without eating later data */
/* GLIBC-XFAIL: glibc cannot cancel a request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/stream.h"

int main(void)
{
    int fds[2];
    make_socketpair(fds);
    check_stream_cancel(fds[0], fds[1]);
    return 0;
}
