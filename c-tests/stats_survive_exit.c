/* DESCRIPTION: with AIO_RS_STATS each process keeps its counters in a file of its own (AIO_RS_STATS_DIR/aio-rs-stats.UID.PID, mode 0600) that survives however it ends: exit, _exit, abort, SIGKILL; a fork child's counters are its own, and a child without AIO_RS_STATS makes no file */
#include "support/common.h"
#include "support/stats.h"

#define READS 5

enum { BY_EXIT, BY__EXIT, BY_ABORT, BY_KILL, NO_STATS, KIDS };

/* READS reads of a pattern file, and one of a closed descriptor (an error
 * found at submission). */
static void work(int reads)
{
    int fd = tmp_pattern_file(4096, 61);
    read_one_by_one(fd, reads, 256, 61);
    read_closed_fd();
    close(fd);
}

static void child(int how, int ready)
{
    if (how == NO_STATS)
        unsetenv("AIO_RS_STATS");
    work(READS);
    switch (how) {
    case BY_EXIT:
        exit(0);
    case BY__EXIT:
    case NO_STATS:
        _exit(0);
    case BY_ABORT:
        signal(SIGABRT, SIG_DFL);
        abort();
    default:
        write_all(ready, "r", 1);
        for (;;)
            pause(); /* killed by the parent */
    }
}

int main(void)
{
    if (!is_aio_rs((void *)aio_read))
        skip("plain glibc: there is no AIO_RS_STATS");
    char dir[4096];
    stats_setup(dir, sizeof dir);
    /* The parent's own engine and counters (3 reads, 1 error). */
    work(3);
    pid_t kid[KIDS];
    int p[2];
    make_pipe(p);
    for (int i = 0; i < KIDS; i++) {
        kid[i] = SYS(fork());
        if (kid[i] == 0) {
            close(p[0]);
            child(i, p[1]);
        }
    }
    close(p[1]);
    char r;
    read_all(p[0], &r, 1);
    SYS(kill(kid[BY_KILL], SIGKILL));
    for (int i = 0; i < KIDS; i++) {
        int st;
        SYS(waitpid(kid[i], &st, 0));
        int ok = i == BY_ABORT  ? WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT
                 : i == BY_KILL ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
                                : WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!ok)
            die("child %d ended with status 0x%x", i, st);
    }
    char path[8192];
    struct stats s;
    for (int i = 0; i < KIDS; i++) {
        stats_path(path, sizeof path, dir, kid[i]);
        int found = stats_read(path, &s);
        if (i == NO_STATS) {
            if (found)
                die("a child without AIO_RS_STATS made %s", path);
            continue;
        }
        if (!found)
            die("child %d (pid %d) left no stats file %s", i, (int)kid[i], path);
        if ((s.st.st_mode & 07777) != 0600 || s.st.st_uid != getuid() || !S_ISREG(s.st.st_mode))
            die("%s: mode 0%o, owner %u", path, (unsigned)s.st.st_mode, (unsigned)s.st.st_uid);
        if (s.w[ST_PID] != (unsigned long long)kid[i] || s.w[ST_PPID] != (unsigned long long)getpid())
            die("%s: pid %llu, parent %llu", path, s.w[ST_PID], s.w[ST_PPID]);
        if (s.w[ST_EXITED] != (i == BY_EXIT))
            die("%s (child %d): exited word %llu", path, i, s.w[ST_EXITED]);
        unsigned long long sub = stats_sum(&s, ST_SUBMITTED), done = stats_sum(&s, ST_COMPLETED),
                           engines = stats_sum(&s, ST_URING) + stats_sum(&s, ST_KAIO) +
                                     stats_sum(&s, ST_WORKERS),
                           at_submit = stats_sum(&s, ST_AT_SUBMIT);
        if (sub != READS + 1 || done != READS + 1 || engines != READS || at_submit != 1 ||
            stats_sum(&s, ST_IN_FLIGHT) != 0)
            die("%s (child %d): submitted %llu completed %llu by engines %llu at submission %llu",
                path, i, sub, done, engines, at_submit);
    }
    /* The parent's file: only its own requests, and it still runs. */
    stats_path(path, sizeof path, dir, getpid());
    if (!stats_read(path, &s))
        die("the parent has no stats file %s", path);
    if (stats_sum(&s, ST_SUBMITTED) != 4 || stats_sum(&s, ST_COMPLETED) != 4 || s.w[ST_EXITED] != 0)
        die("%s: the parent's counters: submitted %llu completed %llu exited %llu", path,
            stats_sum(&s, ST_SUBMITTED), stats_sum(&s, ST_COMPLETED), s.w[ST_EXITED]);
    stats_cleanup(dir);
    return 0;
}
