/* DESCRIPTION: with the descriptor table filled after the first AIO call, more pending pipe reads (which may need new threads) are accepted or refused with EAGAIN, and aio_cancel of each, and aio_cancel(fd, NULL), return promptly */
#include "support/fdtest.h"

#define LIMIT 64
#define K 4

int main(void)
{
    int p[K][2];
    for (int i = 0; i < K; i++)
        make_pipe(p[i]);
    /* the first AIO call, with descriptors to spare */
    int f = tmp_pattern_file(4096, 63);
    char b[512];
    struct aiocb cb;
    cb_init(&cb, f, b, sizeof b, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof b);
    CHECK_PAT(b, sizeof b, 0, 63);

    fill_fd_table(LIMIT);
    cancel_pending_reads(p, K, "table filled after the first AIO call");
    /* and a second round, with the threads that the first may have started */
    cancel_pending_reads(p, K, "table full, second round");
    return 0;
}
