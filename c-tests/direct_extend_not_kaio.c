/* DESCRIPTION: O_DIRECT writes that extend the file, or are not aligned to the 4 KiB file system block, never go to kernel AIO (ext4 runs them synchronously inside io_submit, which would block the caller); the stats show none served there, and the data lands */
#include "support/common.h"
#include "support/stats.h"

#define N 8
#define SZ 65536

int main(void)
{
    if (!is_aio_rs((void *)aio_write))
        skip("plain glibc: there is no AIO_RS_STATS");
    char dir[4096];
    stats_setup(dir, sizeof dir);
    int fd = tmp_open(O_DIRECT);
    if (fd < 0) {
        stats_cleanup(dir);
        skip("no O_DIRECT in %s", tmp_dir());
    }
    char *buf = NULL;
    CHECK_EQ(posix_memalign((void **)&buf, 4096, (size_t)N * SZ), 0);
    for (int i = 0; i < N; i++)
        pat_fill(buf + (size_t)i * SZ, SZ, (long long)i * SZ, 17);

    /* N writes, each past the end of the file when submitted. */
    struct aiocb cbs[N];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, buf + (size_t)i * SZ, SZ, (off_t)i * SZ);
        list[i] = &cbs[i];
        long long t0 = now_ns();
        CHECK_EQ(aio_write(&cbs[i]), 0);
        if (now_ns() - t0 > NOBLOCK_NS)
            die("aio_write %d took %lld ms", i, (now_ns() - t0) / 1000000);
    }
    wait_all_ms(list, N, DONE_MS);
    for (int i = 0; i < N; i++)
        CHECK_DONE_OK(&cbs[i], SZ);

    /* One 512-byte-aligned write inside the file (not block-aligned); the device may refuse
     * such a direct write (EINVAL), which is its answer, wherever it ran. */
    char *small = NULL;
    CHECK_EQ(posix_memalign((void **)&small, 512, 512), 0);
    pat_fill(small, 512, 512, 17);
    struct aiocb u;
    cb_init(&u, fd, small, 512, 512);
    CHECK_EQ(aio_write(&u), 0);
    wait_done(&u);
    int ue = aio_error(&u);
    if (ue != 0 && ue != EINVAL)
        die("unaligned direct write: error %d (%s)", ue, strerror(ue));
    CHECK_EQ(aio_return(&u), ue ? -1 : 512);

    char path[8192];
    struct stats s;
    stats_path(path, sizeof path, dir, getpid());
    if (!stats_read(path, &s))
        die("no stats file %s", path);
    CHECK_EQ(stats_sum(&s, ST_KAIO), 0);
    CHECK_EQ(stats_sum(&s, ST_COMPLETED), N + 1);

    /* The bytes, read back through the page cache's bypass too. */
    char *back = NULL;
    CHECK_EQ(posix_memalign((void **)&back, 4096, (size_t)N * SZ), 0);
    CHECK_EQ(pread(fd, back, (size_t)N * SZ, 0), (ssize_t)N * SZ);
    for (int i = 0; i < N; i++)
        CHECK_PAT(back + (size_t)i * SZ, SZ, (long long)i * SZ, 17);
    stats_cleanup(dir);
    return 0;
}
