/* DESCRIPTION: with the descriptor table full before the first AIO call, pending pipe reads are accepted (or refused with EAGAIN, never EMFILE) and aio_cancel of each, and aio_cancel(fd, NULL), return promptly; every request completes once */
#include "support/fdtest.h"

#define LIMIT 64
#define K 4

int main(void)
{
    int p[K][2];
    for (int i = 0; i < K; i++)
        make_pipe(p[i]);
    fill_fd_table(LIMIT);
    cancel_pending_reads(p, K, "table full before the first AIO call");
    return 0;
}
