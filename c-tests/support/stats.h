/* Reading an aio-rs stats file (AIO_RS_STATS), by its documented layout
 * (version 1, aio_rs(7) FILES): 64-bit words in the machine's byte order; a
 * header of 16 words, then one row per queue. Header-only; static. */
#ifndef AIO_CTEST_STATS_H
#define AIO_CTEST_STATS_H

#include "common.h"
#include <sys/stat.h>

/* header words */
enum { ST_MAGIC, ST_VERSION, ST_SIZE, ST_QUEUES, ST_ROW_WORDS, ST_PID, ST_PPID,
       ST_START_TIME, ST_EXITED, ST_BACKEND, ST_NAME, ST_HEADER_WORDS = 16 };
/* row words */
enum { ST_FLAGS, ST_SUBMITTED, ST_COMPLETED, ST_URING, ST_KAIO, ST_WORKERS,
       ST_AT_SUBMIT, ST_UNISSUED, ST_CANCELLED, ST_FALLBACKS, ST_IN_FLIGHT, ST_PEAK,
       ST_COLUMNS };
/* row flags */
enum { ST_STARTED = 1, ST_HAS_RING = 2, ST_HAS_KAIO = 4 };

struct stats {
    unsigned long long w[ST_HEADER_WORDS + 64 * 32];
    size_t words;
    struct stat st;
};

/* The name of process pid's first stats file in dir. */
CT_FN void stats_path(char *out, size_t n, const char *dir, pid_t pid)
{
    snprintf(out, n, "%s/aio-rs-stats.%u.%d", dir, (unsigned)getuid(), (int)pid);
}

/* Reads and checks a stats file: 0 if it does not exist, 1 if read (else the
 * test fails: a bad magic, version, size or row description). */
CT_FN int stats_read(const char *path, struct stats *s)
{
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        die("open %s", path);
    }
    SYS(fstat(fd, &s->st));
    ssize_t n = read(fd, s->w, sizeof s->w);
    close(fd);
    if (n < (ssize_t)(ST_HEADER_WORDS * 8))
        die("%s: %zd bytes, shorter than the header", path, n);
    s->words = (size_t)n / 8;
    if (memcmp(&s->w[ST_MAGIC], "aiorstat", 8) != 0)
        die("%s: no magic", path);
    if (s->w[ST_VERSION] != 1)
        die("%s: layout version %llu", path, s->w[ST_VERSION]);
    if (s->w[ST_SIZE] != (unsigned long long)n || s->w[ST_SIZE] != (unsigned long long)s->st.st_size)
        die("%s: size word %llu, file %lld bytes, read %zd", path, s->w[ST_SIZE],
            (long long)s->st.st_size, n);
    if (s->w[ST_ROW_WORDS] < ST_COLUMNS || s->w[ST_QUEUES] < 1 || s->w[ST_QUEUES] > 64 ||
        ST_HEADER_WORDS + s->w[ST_QUEUES] * s->w[ST_ROW_WORDS] != s->words)
        die("%s: %llu queues of %llu words in %zu words", path, s->w[ST_QUEUES],
            s->w[ST_ROW_WORDS], s->words);
    return 1;
}

/* Row word `col` of queue q. */
CT_FN unsigned long long stats_get(const struct stats *s, unsigned q, int col)
{
    return s->w[ST_HEADER_WORDS + q * s->w[ST_ROW_WORDS] + (unsigned)col];
}

/* Row word `col` summed over the started queues (flags: or-ed together). */
CT_FN unsigned long long stats_sum(const struct stats *s, int col)
{
    unsigned long long t = 0;
    for (unsigned q = 0; q < s->w[ST_QUEUES]; q++) {
        if (!(stats_get(s, q, ST_FLAGS) & ST_STARTED))
            continue;
        t = col == ST_FLAGS ? t | stats_get(s, q, col) : t + stats_get(s, q, col);
    }
    return t;
}

/* One read of a closed descriptor, which fails with EBADF: a request the
 * stats count as an error found at submission. */
CT_FN void read_closed_fd(void)
{
    char b[8];
    struct aiocb bad;
    cb_init(&bad, closed_fd(), b, sizeof b, 0);
    CHECK_EQ(aio_read(&bad), 0);
    wait_done(&bad);
    CHECK_EQ(aio_error(&bad), EBADF);
}

/* A fresh directory for stats files, named in AIO_RS_STATS_DIR, with
 * AIO_RS_STATS=1: call before the process's first AIO call. */
CT_FN void stats_setup(char *dir, size_t n)
{
    snprintf(dir, n, "%s/aio-ctest-stats-XXXXXX", tmp_dir());
    if (!mkdtemp(dir))
        die("mkdtemp");
    setenv("AIO_RS_STATS", "1", 1);
    setenv("AIO_RS_STATS_DIR", dir, 1);
}

/* Removes every file of dir, then dir. */
CT_FN void stats_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

#endif
