/* DESCRIPTION: the stats count each request once, in the column of the engine that served it: reads of a regular file under the engine the backend gives them (io_uring when the queue has a ring, else the workers), O_DIRECT reads under kernel AIO when forced, an error found at submission, and a read cancelled while it waited behind another on a pipe (never issued) */
#include "support/common.h"
#include "support/stats.h"

#define READS 6
#define DIRECT 4

int main(void)
{
    if (!is_aio_rs((void *)aio_read))
        skip("plain glibc: there is no AIO_RS_STATS");
    const char *b = getenv("AIO_RS_BACKEND");
    int workers_only = b && (strcmp(b, "threads") == 0 || strcmp(b, "kaio") == 0);
    int kaio_forced = b && strcmp(b, "kaio") == 0;
    char dir[4096];
    stats_setup(dir, sizeof dir);

    /* Reads of a regular file, one at a time. */
    int fd = tmp_pattern_file(8192, 62);
    read_one_by_one(fd, READS, 512, 62);
    read_closed_fd(); /* an error found at submission */
    /* Two reads of an empty pipe: the second waits behind the first (reads of
     * a stream keep their order) until aio_cancel takes both. */
    int p[2];
    make_pipe(p);
    char b1[4], b2[4];
    struct aiocb r1, r2;
    cb_init(&r1, p[0], b1, sizeof b1, 0);
    cb_init(&r2, p[0], b2, sizeof b2, 0);
    CHECK_EQ(aio_read(&r1), 0);
    CHECK_EQ(aio_read(&r2), 0);
    int c = aio_cancel(p[0], NULL);
    write_all(p[1], "12345678", 8); /* whatever was not cancelled completes */
    wait_done(&r1);
    wait_done(&r2);
    if (aio_error(&r2) != ECANCELED)
        die("aio_cancel returned %d; the waiting read: %d", c, aio_error(&r2));
    unsigned long long cancelled = 1 + (aio_error(&r1) == ECANCELED);
    /* O_DIRECT reads, all in flight together. */
    int direct = 0;
    int dfd = tmp_open(O_DIRECT);
    void *dbuf = NULL;
    struct aiocb d[DIRECT];
    if (dfd >= 0) {
        CHECK_EQ(posix_memalign(&dbuf, 4096, DIRECT * 4096), 0);
        memset(dbuf, 7, DIRECT * 4096);
        CHECK_EQ(pwrite(dfd, dbuf, DIRECT * 4096, 0), DIRECT * 4096);
        for (int i = 0; i < DIRECT; i++) {
            cb_init(&d[i], dfd, (char *)dbuf + i * 4096, 4096, (off_t)i * 4096);
            CHECK_EQ(aio_read(&d[i]), 0);
        }
        for (int i = 0; i < DIRECT; i++) {
            wait_done(&d[i]);
            CHECK_DONE_OK(&d[i], 4096);
        }
        direct = DIRECT;
    } else if (errno != EINVAL) {
        die("open O_DIRECT");
    }

    char path[8192];
    struct stats s;
    stats_path(path, sizeof path, dir, getpid());
    if (!stats_read(path, &s))
        die("no stats file %s", path);
    unsigned long long flags = stats_sum(&s, ST_FLAGS), uring = stats_sum(&s, ST_URING),
                       kaio = stats_sum(&s, ST_KAIO), workers = stats_sum(&s, ST_WORKERS);
    unsigned long long total = READS + 1 + 2 + (unsigned long long)direct;
    printf("flags %llu: io_uring %llu kaio %llu workers %llu at-submit %llu unissued %llu "
           "cancelled %llu fallbacks %llu peak %llu\n",
           flags, uring, kaio, workers, stats_sum(&s, ST_AT_SUBMIT), stats_sum(&s, ST_UNISSUED),
           stats_sum(&s, ST_CANCELLED), stats_sum(&s, ST_FALLBACKS), stats_sum(&s, ST_PEAK));
    CHECK_EQ(stats_sum(&s, ST_SUBMITTED), total);
    CHECK_EQ(stats_sum(&s, ST_COMPLETED), total);
    CHECK_EQ(stats_sum(&s, ST_IN_FLIGHT), 0);
    CHECK_EQ(stats_sum(&s, ST_AT_SUBMIT), 1);
    CHECK_EQ(stats_sum(&s, ST_UNISSUED), 1);
    CHECK_EQ(stats_sum(&s, ST_CANCELLED), cancelled);
    CHECK_EQ(stats_sum(&s, ST_FALLBACKS), 0);
    CHECK(stats_sum(&s, ST_PEAK) >= 2);
    /* every request once: the engines' columns, at submission, never issued */
    CHECK_EQ(uring + kaio + workers, total - 2);
    if (workers_only && (flags & ST_HAS_RING))
        die("AIO_RS_BACKEND=%s: a queue has an io_uring ring", b);
    if (!(flags & ST_HAS_RING))
        CHECK_EQ(uring, 0);
    if (!(flags & ST_HAS_KAIO))
        CHECK_EQ(kaio, 0);
    /* the buffered reads and the pipe's first read: the ring, else the workers */
    unsigned long long buffered = READS + 1;
    if (flags & ST_HAS_RING)
        CHECK_EQ(uring, buffered + (unsigned long long)direct - kaio);
    else if (kaio_forced && (flags & ST_HAS_KAIO))
        CHECK_EQ(kaio, (unsigned long long)direct); /* checked O_DIRECT: kernel AIO */
    else
        CHECK_EQ(workers, buffered + (unsigned long long)direct - kaio);
    stats_cleanup(dir);
    return 0;
}
