/* DESCRIPTION: a 2 MiB aio_writev of 37 odd-sized entries to a socket with small buffers is taken in parts and continues from the right entry and offset: the reader gets every byte in order */
#include "support/ext.h"
#include <sys/socket.h>

#define CNT 37

int main(void)
{
    vec_require();
    int sv[2];
    SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int small = 4096;
    SYS(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small));
    SYS(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
    static size_t lens[CNT];
    size_t total = 0;
    for (int i = 0; i < CNT; i++) {
        /* 1 byte to ~56 KiB, odd sizes, one empty entry */
        lens[i] = i == 5 ? 0 : 1 + (size_t)((i * 7919) % 113) * 500 + (size_t)(i % 3);
        total += lens[i];
    }
    /* scatter the entries over memory out of order, so a continuation from a wrong entry or
     * offset reads the wrong bytes */
    char *mem = malloc(total + CNT * 64);
    struct iovec iov[CNT];
    size_t pos = 0, off = 0;
    for (int i = CNT - 1; i >= 0; i--) {
        iov[i].iov_base = mem + pos;
        iov[i].iov_len = lens[i];
        pos += lens[i] + 64;
    }
    for (int i = 0; i < CNT; i++) {
        pat_fill(iov[i].iov_base, lens[i], (long long)off, 41);
        off += lens[i];
    }
    struct aiocb cb;
    cb_initv(&cb, sv[1], iov, CNT, 0);
    CHECK_EQ(x_aio_writev(&cb), 0);
    /* read slowly, in small pieces */
    char *back = malloc(total);
    size_t got = 0;
    while (got < total) {
        size_t want = total - got < 3000 ? total - got : 3000;
        ssize_t r = read(sv[0], back + got, want);
        if (r <= 0)
            die("read after %zu of %zu bytes", got, total);
        got += (size_t)r;
        if ((got / 3000) % 64 == 0)
            pause_us(100);
    }
    CHECK_PAT(back, total, 0, 41);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, total);
    return 0;
}
