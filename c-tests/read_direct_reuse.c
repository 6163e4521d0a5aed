/* DESCRIPTION: a descriptor number that named a page-cached buffered file and now names a file opened with O_DIRECT: its reads are never done on the caller's thread (a read without waiting still waits for the device under O_DIRECT), as the stats show, and return their bytes */
#include "support/common.h"
#include "support/stats.h"

#define READS 4

int main(void)
{
    if (!is_aio_rs((void *)aio_read))
        skip("plain glibc: there is no AIO_RS_STATS");
    char dir[4096];
    stats_setup(dir, sizeof dir);
    int fd = tmp_pattern_file(8192, 41);
    read_one_by_one(fd, READS, 512, 41); /* the number's class: a buffered file */
    int d = tmp_open(O_DIRECT);
    if (d < 0) {
        stats_cleanup(dir);
        skip("no O_DIRECT in %s", tmp_dir());
    }
    /* The same number, now an O_DIRECT file, with its data on disk. */
    SYS(dup2(d, fd));
    close(d);
    void *buf = NULL;
    CHECK_EQ(posix_memalign(&buf, 4096, 4096), 0);
    pat_fill(buf, 4096, 0, 42);
    CHECK_EQ(pwrite(fd, buf, 4096, 0), 4096);
    char path[8192];
    struct stats s;
    stats_path(path, sizeof path, dir, getpid());
    if (!stats_read(path, &s))
        die("no stats file %s", path);
    unsigned long long before = stats_sum(&s, ST_CALLER);
    for (int i = 0; i < READS; i++) {
        struct aiocb cb;
        memset(buf, 0, 4096);
        cb_init(&cb, fd, buf, 4096, 0);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 4096);
        CHECK_PAT((char *)buf, 4096, 0, 42);
    }
    if (!stats_read(path, &s))
        die("no stats file %s", path);
    CHECK_EQ(stats_sum(&s, ST_CALLER), before);
    CHECK_EQ(stats_sum(&s, ST_COMPLETED), READS + READS);
    stats_cleanup(dir);
    return 0;
}
