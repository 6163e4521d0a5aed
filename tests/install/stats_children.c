/* A program for the stats tests of tests/install/wrapper-test.sh, whose processes end in
 * several ways, as fio's and stress-ng's workers do.
 *
 * Usage: stats_children CHILDREN READS HOW [COMMAND]
 *
 * Forks CHILDREN children (at once); each reads a temporary file with READS aio_read calls, one
 * at a time, makes one aio_read on a closed descriptor (an error found at submission), and ends
 * as HOW says: "exit" (exit(0): the exit handlers run), "_exit", "abort", or "kill" (SIGKILL
 * from itself). The parent makes no AIO call and exits 0 when every child ended as asked.
 * With CHILDREN 0 the process does the same itself; before it ends it runs COMMAND, if given,
 * with system(), "%d" in it replaced by its process ID (to read its counters while it runs). */
#define _GNU_SOURCE 1
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "stats_children: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Waits at most 10 s for cb. */
static void wait_for(struct aiocb *cb)
{
    const struct aiocb *list[1] = { cb };
    struct timespec ts = { 10, 0 };
    while (aio_error(cb) == EINPROGRESS)
        if (aio_suspend(list, 1, &ts) != 0 && errno == EAGAIN) {
            errno = ETIMEDOUT;
            die("aio_suspend");
        }
}

static void work(int reads, const char *how, const char *command)
{
    char path[] = "/tmp/aio-rs-stats-children-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp");
    unlink(path);
    char data[4096];
    memset(data, 'x', sizeof data);
    if (write(fd, data, sizeof data) != (ssize_t)sizeof data)
        die("write");
    for (int i = 0; i < reads; i++) {
        char buf[512];
        struct aiocb cb;
        memset(&cb, 0, sizeof cb);
        cb.aio_fildes = fd;
        cb.aio_buf = buf;
        cb.aio_nbytes = sizeof buf;
        cb.aio_offset = (off_t)(i % 8) * 512;
        if (aio_read(&cb) != 0)
            die("aio_read");
        wait_for(&cb);
        if (aio_error(&cb) != 0 || aio_return(&cb) != (ssize_t)sizeof buf)
            die("the read failed");
    }
    int closed = dup(fd);
    close(closed);
    struct aiocb bad;
    char buf[16];
    memset(&bad, 0, sizeof bad);
    bad.aio_fildes = closed;
    bad.aio_buf = buf;
    bad.aio_nbytes = sizeof buf;
    if (aio_read(&bad) != 0)
        die("aio_read on a closed descriptor");
    wait_for(&bad);
    if (aio_error(&bad) != EBADF)
        die("the read of a closed descriptor did not fail with EBADF");
    aio_return(&bad);
    if (command) {
        char cmd[8192], pid[32];
        size_t n = 0;
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        for (const char *c = command; *c && n + sizeof pid < sizeof cmd; c++) {
            if (c[0] == '%' && c[1] == 'd') {
                n += (size_t)snprintf(cmd + n, sizeof cmd - n, "%s", pid);
                c++;
            } else {
                cmd[n++] = *c;
            }
        }
        cmd[n] = 0;
        if (system(cmd) != 0)
            die(cmd);
    }
    if (strcmp(how, "exit") == 0)
        exit(0);
    if (strcmp(how, "_exit") == 0)
        _exit(0);
    if (strcmp(how, "abort") == 0) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    if (strcmp(how, "kill") == 0)
        raise(SIGKILL);
    fprintf(stderr, "stats_children: unknown way to end: %s\n", how);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: stats_children CHILDREN READS HOW [COMMAND]\n");
        return 2;
    }
    int children = atoi(argv[1]), reads = atoi(argv[2]);
    const char *how = argv[3];
    if (children == 0)
        work(reads, how, argc > 4 ? argv[4] : NULL);
    int want = strcmp(how, "abort") == 0 ? SIGABRT : strcmp(how, "kill") == 0 ? SIGKILL : 0;
    for (int i = 0; i < children; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            work(reads, how, NULL);
    }
    int bad = 0;
    for (int i = 0; i < children; i++) {
        int st;
        if (wait(&st) < 0)
            die("wait");
        if (want ? !(WIFSIGNALED(st) && WTERMSIG(st) == want) : !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "stats_children: a child ended with status 0x%x\n", st);
            bad = 1;
        }
    }
    return bad;
}
