/* DESCRIPTION: a read deferred into a batch whose descriptor number is closed and taken by a pipe before the batch is issued never reads the pipe: the read ends with an error (or the file's data, if it ran before), and every byte written to the pipe is still there */
/* GLIBC-XFAIL: glibc's thread reads by number whenever it gets to the request, so it may read the pipe that took the number */
#include "support/defer.h"

#define SEED 45
enum { N = 4, SZ = 4096, PIPE_BYTES = 3000 };

int main(void)
{
    for (int round = 0; round < 20; round++) {
        int fd = tmp_pattern_file(1 << 20, SEED);
        defer_prime(fd, SEED);
        static char buf[N][SZ];
        struct aiocb cb[N];
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (i + 1));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        /* The number now names a pipe with data in it. */
        int p[2];
        make_pipe(p);
        SYS(dup2(p[0], fd));
        close(p[0]);
        char data[PIPE_BYTES];
        memset(data, 'P', sizeof data);
        write_all(p[1], data, sizeof data);
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            int e = aio_error(&cb[i]);
            ssize_t n = aio_return(&cb[i]);
            if (e == 0) {
                CHECK_EQ(n, SZ);
                CHECK_PAT(buf[i], SZ, (long long)SZ * (i + 1), SEED);
            } else {
                CHECK_EQ(n, -1);
                for (int k = 0; k < SZ; k++)
                    if (buf[i][k] == 'P')
                        die("read %d (error %d) holds pipe data", i, e);
            }
        }
        SYS(fcntl(fd, F_SETFL, O_NONBLOCK));
        char back[PIPE_BYTES + 1];
        ssize_t got = read(fd, back, sizeof back);
        if (got != PIPE_BYTES)
            die("round %d: the pipe holds %zd bytes, %d were written", round, got, PIPE_BYTES);
        close(fd);
        close(p[1]);
    }
    return 0;
}
