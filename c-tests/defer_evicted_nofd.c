/* DESCRIPTION: with the descriptor table full (RLIMIT_NOFILE reached) after the first of a burst of reads, reads of a file evicted from the page cache (posix_fadvise DONTNEED) are accepted or refused with EAGAIN, and every accepted one completes with the right data (a read that must wait for the disk never ends EAGAIN for want of a descriptor) */
#include "support/fdtest.h"
#include "support/defer.h"

#define SEED 60
#define LIMIT 64
enum { N = 12, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(4 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][SZ];
    static struct aiocb cb[N]; /* (not where defer_prime's was: each read follows another aiocb's) */
    int ok[N];
    int accepted = 0;
    for (int round = 0; round < 3; round++) {
        SYS(fdatasync(fd));
        CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (23 * i + 7 + round));
            if (i == 1) {
                int added = fill_fd_table(LIMIT);
                if (added == 0)
                    die("round %d: no descriptor was free to fill", round);
            }
            ok[i] = accepted_or_eagain(aio_read(&cb[i]), "aio_read with the descriptor table full");
            accepted += ok[i];
        }
        for (int i = 0; i < N; i++) {
            if (!ok[i])
                continue;
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * (23 * i + 7 + round), SEED);
        }
        unfill_fd_table(4096);
    }
    if (accepted <= 3)
        skip("only the first read of each round was accepted");
    return 0;
}
