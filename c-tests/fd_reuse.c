/* DESCRIPTION: a descriptor number closed and reopened as another kind of file (file -> socket, pipe -> file) is handled as what it is now */
#include "support/common.h"
#include <sys/socket.h>

#define N 40 /* a fixed number both files take in turn, via dup2 */

static ssize_t read_at(int fd, char *buf, size_t n, off_t off)
{
    struct aiocb cb;
    cb_init(&cb, fd, buf, n, off);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    if (aio_error(&cb) != 0)
        die("aio_read on fd %d: error %d", fd, aio_error(&cb));
    return aio_return(&cb);
}

int main(void)
{
    char buf[4096];
    /* 1. a regular file at N, read once (aio-rs caches what N is) */
    int f = tmp_pattern_file(8192, 31);
    SYS(dup2(f, N));
    close(f);
    CHECK_EQ(read_at(N, buf, 4096, 4096), 4096);
    CHECK_PAT(buf, 4096, 4096, 31);
    /* 2. N becomes a socket: a read must still work, whatever aio_offset says (POSIX: ignored
     * on a file that cannot seek) */
    close(N);
    int s[2];
    SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    SYS(dup2(s[0], N));
    close(s[0]);
    write_all(s[1], "socket data", 11);
    CHECK_EQ(read_at(N, buf, sizeof buf, 12345), 11);
    CHECK(memcmp(buf, "socket data", 11) == 0);
    /* 3. N becomes a pipe, then a file again: offsets must be honoured once more */
    close(N);
    int p[2];
    make_pipe(p);
    SYS(dup2(p[0], N));
    close(p[0]);
    write_all(p[1], "pipe", 4);
    CHECK_EQ(read_at(N, buf, sizeof buf, 0), 4);
    close(N);
    f = tmp_pattern_file(8192, 32);
    SYS(dup2(f, N));
    close(f);
    CHECK_EQ(read_at(N, buf, 4096, 4096), 4096);
    CHECK_PAT(buf, 4096, 4096, 32);
    CHECK_EQ(read_at(N, buf, 4096, 0), 4096);
    CHECK_PAT(buf, 4096, 0, 32);
    return 0;
}
