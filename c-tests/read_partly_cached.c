/* DESCRIPTION: a read whose first half is in the page cache and whose second half is not returns every byte, and so do the reads after it on that file (a cache miss found by a read done on the caller's thread hands the whole request to an engine) */
#include "support/common.h"

#define HALF (1 << 20)

/* Drops [off, off + n) of fd's file from the page cache (the data is on disk first). */
static void evict(int fd, off_t off, off_t n)
{
    SYS(fdatasync(fd));
    int e = posix_fadvise(fd, off, n, POSIX_FADV_DONTNEED);
    if (e != 0)
        die("posix_fadvise: %s", strerror(e));
}

int main(void)
{
    int fd = tmp_pattern_file(2 * HALF, 23);
    static char buf[2 * HALF], head[HALF];
    evict(fd, 0, 2 * HALF);
    /* The first half back in the cache, the second half not. */
    CHECK_EQ(pread(fd, head, HALF, 0), HALF);
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2 * HALF);
    CHECK_PAT(buf, 2 * HALF, 0, 23);
    /* Reads right after the miss, cached or not, still return their bytes. */
    evict(fd, HALF, HALF);
    for (int i = 0; i < 8; i++) {
        off_t off = (off_t)i * (2 * HALF / 8);
        memset(buf, 0, 4096);
        cb_init(&cb, fd, buf, 4096, off);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 4096);
        CHECK_PAT(buf, 4096, (long long)off, 23);
    }
    return 0;
}
