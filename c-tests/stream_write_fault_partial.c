/* DESCRIPTION: an aio_write to a pipe (and to a socket) whose aio_nbytes runs past the end of its buffer's mapping, larger than the pipe holds, while a reader drains it: the request completes once, and what aio_return says is exactly what the reader got (the bytes before the unmapped page), as write(2) reports a partial write; the data is the buffer's */
#include "support/common.h"
#include "support/stream.h"
#include <sys/mman.h>

enum { MAPPED = 256 * 1024, ASKED = 1024 * 1024 };

struct drain {
    int fd;
    size_t got;
    unsigned char *into;
};

static void *drainer(void *arg)
{
    struct drain *d = arg;
    for (;;) {
        ssize_t r = read(d->fd, d->into + d->got, MAPPED + 65536 - d->got);
        if (r == 0)
            return NULL;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        d->got += (size_t)r;
        if (d->got > MAPPED)
            die("reader got %zu bytes, more than the %d mapped", d->got, MAPPED);
    }
}

static void one(int rfd, int wfd, unsigned char *buf, const char *what)
{
    static unsigned char into[MAPPED + 65536];
    struct drain d = { rfd, 0, into };
    struct aiocb cb;
    cb_init(&cb, wfd, buf, ASKED, 0);
    CHECK_EQ(aio_write(&cb), 0);
    pthread_t t;
    if (pthread_create(&t, NULL, drainer, &d) != 0)
        die("pthread_create");
    wait_done(&cb);
    int e = aio_error(&cb);
    ssize_t r = aio_return(&cb);
    close(wfd);
    pthread_join(t, NULL);
    if (e != 0 || r != (ssize_t)d.got)
        die("%s: aio_error %d, aio_return %zd, but the reader got %zu bytes", what, e, r, d.got);
    if (d.got == 0 || d.got > MAPPED)
        die("%s: %zu bytes written", what, d.got);
    if (memcmp(into, buf, d.got) != 0)
        die("%s: the reader got other bytes than the buffer's", what);
    close(rfd);
}

int main(void)
{
    /* MAPPED bytes readable, then nothing mapped. */
    unsigned char *buf = mmap(NULL, MAPPED + 4096, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        die("mmap");
    SYS(munmap(buf + MAPPED, 4096));
    pat_fill(buf, MAPPED, 0, 64);
    for (int round = 0; round < 3; round++) {
        int p[2];
        make_pipe(p);
        one(p[0], p[1], buf, "pipe");
        int s[2];
        make_socketpair(s);
        one(s[0], s[1], buf, "socket");
    }
    return 0;
}
