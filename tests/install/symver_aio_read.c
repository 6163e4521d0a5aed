/*
 * Refers to aio_read by one glibc symbol version, AIO_READ_VERSION ("GLIBC_2.2.5": programs built
 * before glibc 2.34; "GLIBC_2.34": built since), as real programs do, and reads a file through
 * that reference. Built by tests/install/symver-test.sh, which runs it with and without aio-rs.
 * Prints "aio_read@VERSION from: FILE" and "symver: ok" when the read worked.
 */
#define _GNU_SOURCE
#include "roundtrip.h"

#ifndef AIO_READ_VERSION
#error "define AIO_READ_VERSION"
#endif

/* The reference: aio_read_versioned means aio_read@AIO_READ_VERSION to the linker. */
__asm__(".symver aio_read_versioned, aio_read@" AIO_READ_VERSION);
int aio_read_versioned(struct aiocb *cb);

int main(void)
{
    Dl_info info;
    const char *where = "?";
    if (dladdr((void *)aio_read_versioned, &info) && info.dli_fname)
        where = info.dli_fname;
    printf("aio_read@%s from: %s\n", AIO_READ_VERSION, where);

    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-rs-symver.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("symver: mkstemp");
        return 1;
    }
    unlink(path);
    static const char text[] = "served through a versioned reference";
    if (write(fd, text, sizeof text) != (ssize_t)sizeof text) {
        perror("symver: write");
        return 1;
    }
    static char buf[sizeof text];
    struct aiocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_buf = buf;
    cb.aio_nbytes = sizeof buf;
    cb.aio_offset = 0;
    if (aio_read_versioned(&cb) != 0) {
        perror("symver: aio_read");
        return 1;
    }
    int err = rt_wait(&cb);
    ssize_t n = aio_return(&cb);
    if (err != 0 || n != (ssize_t)sizeof text || memcmp(buf, text, sizeof text) != 0) {
        fprintf(stderr, "symver: read failed (error %d, %zd bytes)\n", err, n);
        return 1;
    }
    printf("symver: ok\n");
    return 0;
}
