/* DESCRIPTION: reads submitted back to back after the program closed a descriptor and opened another file (then a pipe) at its number read what the number names at submission: the new file's data, then the pipe's, never EBADF */
#include "support/defer.h"

#define SEED_A 52
#define SEED_B 53
enum { N = 6, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED_A);
    static char buf[N][SZ];
    struct aiocb cb[N];
    for (int round = 0; round < 10; round++) {
        unsigned seed = round % 2 ? SEED_B : SEED_A;
        defer_prime(fd, seed);
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (5 * i + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * (5 * i + round), seed);
        }
        /* Another file at the same number (A and B alternate), before the next reads. */
        int other = tmp_pattern_file(1 << 20, round % 2 ? SEED_A : SEED_B);
        SYS(dup2(other, fd));
        close(other);
    }
    /* A pipe at the number: the reads are the pipe's, in order of submission. */
    int p[2];
    make_pipe(p);
    SYS(dup2(p[0], fd));
    close(p[0]);
    char data[2 * 100];
    for (int i = 0; i < (int)sizeof data; i++)
        data[i] = (char)i;
    write_all(p[1], data, sizeof data);
    for (int i = 0; i < 2; i++) {
        cb_init(&cb[i], fd, buf[i], 100, 0);
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        wait_done(&cb[i]);
        CHECK_DONE_OK(&cb[i], 100);
        for (int k = 0; k < 100; k++)
            if (buf[i][k] != data[100 * i + k])
                die("pipe read %d byte %d", i, k);
    }
    return 0;
}
