/* DESCRIPTION: aio_read on an empty pty returns at once, stays EINPROGRESS, then gets the data written later */
#include "support/stream.h"

int main(void)
{
    int fds[2];
    make_pty_pair(fds);
    check_stream_read(fds[0], fds[1]);
    /* and again, with the descriptor already used once */
    check_stream_read(fds[0], fds[1]);
    return 0;
}
