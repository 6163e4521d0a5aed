/* DESCRIPTION: fork while reads are deferred into a batch: the parent's reads complete once each with the right data, and the child keeps the parent's descriptor open and usable and can read on its own */
#include "support/defer.h"
#include <sys/wait.h>

#define SEED 50
enum { N = 6, SZ = 4096 };

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    for (int round = 0; round < 5; round++) {
        static char buf[N][SZ];
        struct aiocb cb[N];
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (9 * i + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            /* The parent's descriptor is open and still the file. */
            if (fcntl(fd, F_GETFD) < 0)
                _exit(2);
            static char c[SZ];
            if (pread(fd, c, SZ, SZ * 3) != SZ)
                _exit(3);
            for (int k = 0; k < SZ; k++)
                if ((unsigned char)c[k] != pat_byte(SZ * 3 + k, SEED))
                    _exit(4);
            /* glibc's AIO is not usable in a child forked with requests in flight. */
            if (!is_aio_rs((void *)aio_read))
                _exit(0);
            struct aiocb own;
            cb_init(&own, fd, c, SZ, SZ * 20);
            if (aio_read(&own) != 0)
                _exit(5);
            wait_done(&own);
            if (aio_error(&own) != 0 || aio_return(&own) != SZ)
                _exit(6);
            for (int k = 0; k < SZ; k++)
                if ((unsigned char)c[k] != pat_byte(SZ * 20 + k, SEED))
                    _exit(7);
            _exit(0);
        }
        wait_child_ok(pid, "child");
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)SZ * (9 * i + round), SEED);
        }
        CHECK(fcntl(fd, F_GETFD) >= 0);
    }
    return 0;
}
