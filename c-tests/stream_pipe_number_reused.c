/* DESCRIPTION: a descriptor number that named a pipe and is closed and reopened as another pipe, or as a regular file, is handled as what it is now: a read that waits on the new pipe gets its data (not ECANCELED), a write to the file lands at its aio_offset, and a read of the file honours aio_offset too */
#include "support/common.h"

#define N 40 /* a fixed number the files take in turn, via dup2 */

static char buf[64];

/* aio_read of up to n bytes on fd; feed (if not NULL) is written to wfd
 * once the read is submitted. */
static ssize_t read_fed(int fd, size_t n, off_t off, int wfd, const char *feed)
{
    struct aiocb cb;
    memset(buf, 0, sizeof buf);
    cb_init(&cb, fd, buf, n, off);
    CHECK_EQ(aio_read(&cb), 0);
    if (feed)
        write_all(wfd, feed, strlen(feed));
    wait_done(&cb);
    if (aio_error(&cb) != 0)
        die("aio_read on fd %d: error %d", fd, aio_error(&cb));
    return aio_return(&cb);
}

static void write_at(int fd, const char *s, off_t off)
{
    struct aiocb cb;
    cb_init(&cb, fd, (void *)s, strlen(s), off);
    CHECK_EQ(aio_write(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, (ssize_t)strlen(s));
}

int main(void)
{
    for (int round = 0; round < 3; round++) {
        /* 1. pipe A's read end at N, and its write end at N + 1: a few requests each */
        int a[2];
        make_pipe(a);
        SYS(dup2(a[0], N));
        SYS(dup2(a[1], N + 1));
        close(a[0]);
        close(a[1]);
        for (int i = 0; i < 3; i++) {
            write_at(N + 1, "ab", 0);
            CHECK_EQ(read_fed(N, 2, 0, -1, NULL), 2);
            CHECK(memcmp(buf, "ab", 2) == 0);
            CHECK_EQ(read_fed(N, sizeof buf, 0, N + 1, "wait"), 4);
            CHECK(memcmp(buf, "wait", 4) == 0);
        }
        /* 2. N becomes pipe B's read end: a read that waits there reads B */
        int b[2];
        make_pipe(b);
        SYS(dup2(b[0], N));
        close(b[0]);
        CHECK_EQ(read_fed(N, sizeof buf, 0, b[1], "pipe B"), 6);
        CHECK(memcmp(buf, "pipe B", 6) == 0);
        close(b[1]);
        /* 3. N + 1 becomes a regular file: a write lands at its offset, not at
         * the file position; N a file too: a read honours its offset */
        int f = tmp_open(0);
        SYS(dup2(f, N + 1));
        SYS(dup2(f, N));
        close(f);
        write_at(N + 1, "0123456789", 100);
        write_at(N + 1, "xy", 0);
        CHECK_EQ(read_fed(N, 4, 102, -1, NULL), 4);
        CHECK(memcmp(buf, "2345", 4) == 0);
        char back[2];
        CHECK_EQ(pread(N, back, 2, 0), 2);
        CHECK(memcmp(back, "xy", 2) == 0);
        CHECK_EQ(lseek(N, 0, SEEK_CUR), 0);
        close(N);
        close(N + 1);
    }
    return 0;
}
