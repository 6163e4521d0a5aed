/* DESCRIPTION: a wrong AIO_RS_BACKEND, a number that is not one and an unwritable AIO_RS_STATS_FILE each give one warning line on stderr; every line aio-rs writes there (warnings, AIO_RS_VERBOSE) starts with aio-rs[PID]: of the process that wrote it */
#include "support/common.h"

/* The child: one read, then exit (the stats report, if any, is written then). */
static int child(void)
{
    int fd = tmp_pattern_file(4096, 56);
    char buf[512];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    exit(0);
}

/* Runs this program as the child with `env` set (NAME=VALUE strings), and
 * returns what it wrote on stderr; *pid is the child's. */
static char *run_child(const char *self, char *const env[], pid_t *pid)
{
    static char out[16384];
    int p[2];
    make_pipe(p);
    *pid = SYS(fork());
    if (*pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        for (int i = 0; env[i]; i++)
            putenv(env[i]);
        char *const args[] = { (char *)self, "child", NULL };
        execv(self, args);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(p[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    int st;
    SYS(waitpid(*pid, &st, 0));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child failed (status 0x%x):\n%s", st, out);
    return out;
}

/* Every line of `text` starts with aio-rs[pid]: (or is a stats table line,
 * which starts with "queue" or spaces); returns how many lines mention
 * `needle`. */
static int check_lines(const char *text, pid_t pid, const char *needle)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "aio-rs[%d]: ", (int)pid);
    int hits = 0;
    for (const char *l = text; *l;) {
        const char *end = strchr(l, '\n');
        if (!end)
            die("a line without its newline: %s", l);
        size_t len = (size_t)(end - l);
        if (strncmp(l, prefix, strlen(prefix)) != 0)
            die("a line without \"%s\": %.*s", prefix, (int)len, l);
        if (memmem(l, len, needle, strlen(needle)))
            hits++;
        l = end + 1;
    }
    return hits;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child();
    if (!is_aio_rs((void *)aio_read))
        skip("plain glibc: there is no AIO_RS_* variable");
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("readlink /proc/self/exe");
    self[n] = 0;
    pid_t pid;
    char e_backend[] = "AIO_RS_BACKEND=bogus", e_ring[] = "AIO_RS_RING_ENTRIES=many";
    char e_verbose[] = "AIO_RS_VERBOSE=1", e_stats[] = "AIO_RS_STATS=0";
    char *const env1[] = { e_backend, e_ring, e_verbose, e_stats, NULL };
    const char *err = run_child(self, env1, &pid);
    if (check_lines(err, pid, "AIO_RS_BACKEND=bogus") != 1)
        die("AIO_RS_BACKEND=bogus: expected one warning line, got:\n%s", err);
    if (check_lines(err, pid, "AIO_RS_RING_ENTRIES=many") != 1)
        die("AIO_RS_RING_ENTRIES=many: expected one warning line, got:\n%s", err);
    if (check_lines(err, pid, "active") != 1)
        die("AIO_RS_VERBOSE=1: expected the line saying aio-rs is active, got:\n%s", err);

    char e_on[] = "AIO_RS_STATS=1";
    char e_file[] = "AIO_RS_STATS_FILE=/proc/no-such-dir/stats";
    char e_quiet[] = "AIO_RS_VERBOSE=0", e_auto[] = "AIO_RS_BACKEND=auto";
    char e_ring_ok[] = "AIO_RS_RING_ENTRIES=64";
    char *const env2[] = { e_on, e_file, e_quiet, e_auto, e_ring_ok, NULL };
    err = run_child(self, env2, &pid);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "aio-rs[%d]: ", (int)pid);
    const char *first_line_end = strchr(err, '\n');
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !first_line_end ||
        !memmem(err, (size_t)(first_line_end - err), "AIO_RS_STATS_FILE", 17))
        die("an unwritable AIO_RS_STATS_FILE: expected one warning line first, got:\n%s",
            err);
    if (strstr(first_line_end + 1, "AIO_RS_STATS_FILE"))
        die("more than one line about AIO_RS_STATS_FILE:\n%s", err);
    if (!strstr(first_line_end + 1, "stats"))
        die("the report did not follow on stderr:\n%s", err);
    return 0;
}
