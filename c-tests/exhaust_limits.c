/* DESCRIPTION: with the kernel limits made tiny (1-entry ring, 4 kernel AIO slots, RLIMIT_MEMLOCK 0), 3000 outstanding O_DIRECT reads and writes all succeed and nothing is lost */
#include "support/common.h"
#include <sys/resource.h>

#define N 3000
#define BLK 4096

int main(void)
{
    /* Read by aio-rs at its first AIO call; plain glibc ignores them. */
    setenv("AIO_RS_RING_ENTRIES", "1", 1);
    setenv("AIO_RS_KAIO_SLOTS", "4", 1);
    struct rlimit rl = { 0, 0 };
    SYS(setrlimit(RLIMIT_MEMLOCK, &rl));

    int fd = tmp_pattern_file((size_t)N * BLK, 21);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int dfd = open(path, O_RDWR | O_DIRECT);
    if (dfd < 0)
        dfd = fd; /* no O_DIRECT on this file system: still a depth test */
    static struct aiocb cbs[N];
    unsigned char *mem;
    if (posix_memalign((void **)&mem, BLK, (size_t)N * BLK) != 0)
        die("posix_memalign");
    /* even blocks are read, odd blocks are rewritten with a new pattern */
    for (int i = 0; i < N; i++) {
        unsigned char *b = mem + (size_t)i * BLK;
        cb_init(&cbs[i], dfd, b, BLK, (off_t)i * BLK);
        if (i % 2)
            pat_fill(b, BLK, (long long)i * BLK, 22);
        if ((i % 2 ? aio_write(&cbs[i]) : aio_read(&cbs[i])) != 0)
            die("submit #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], BLK);
        if (i % 2 == 0)
            CHECK_PAT(mem + (size_t)i * BLK, BLK, (long long)i * BLK, 21);
    }
    static unsigned char back[BLK];
    for (int i = 1; i < N; i += 2) {
        SYS(pread(fd, back, BLK, (off_t)i * BLK));
        CHECK_PAT(back, BLK, (long long)i * BLK, 22);
    }
    return 0;
}
