/* DESCRIPTION: reads deferred into a batch whose number is then taken by the same file opened with O_DIRECT (same inode, so the identity check passes and the kernel may complete them later, not inside io_submit) still complete with the right data, seen both by polling the aiocbs' status fields and by aio_suspend */
#include "support/defer.h"

#define SEED 51
enum { N = 8, SZ = 4096 };

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp");
    static char chunk[1 << 16] __attribute__((aligned(4096)));
    for (int c = 0; c < 16; c++) {
        pat_fill(chunk, sizeof chunk, (long long)c << 16, SEED);
        write_all(fd, chunk, sizeof chunk);
    }
    int direct = open(path, O_RDONLY | O_DIRECT);
    unlink(path);
    if (direct < 0) {
        if (errno == EINVAL)
            skip("O_DIRECT not supported in %s", tmp_dir());
        die("open O_DIRECT");
    }
    SYS(fsync(fd));
    static char buf[N][SZ] __attribute__((aligned(4096)));
    for (int round = 0; round < 10; round++) {
        int num = SYS(dup(fd));
        defer_prime(num, SEED);
        struct aiocb cb[N];
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], num, buf[i], SZ, (off_t)SZ * (3 * i + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        /* The number now names an O_DIRECT open of the same file. */
        SYS(dup2(direct, num));
        long long deadline = now_ms() + DONE_MS;
        for (int i = 0; i < N / 2 && fields_complete_alone(); i++)
            while (cb_field_status(&cb[i]) == EINPROGRESS)
                if (now_ms() > deadline)
                    die("round %d: read %d still in progress after %d ms", round, i, DONE_MS);
        for (int i = 0; i < N; i++)
            wait_done(&cb[i]);
        for (int i = 0; i < N; i++) {
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * (3 * i + round), SEED);
        }
        close(num);
    }
    return 0;
}
