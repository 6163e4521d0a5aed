/* DESCRIPTION: a program whose own descriptors are all close-on-exec uses AIO of every kind (deferred and O_DIRECT reads, a parked pipe read, a socket read waited for alone, buffered writes on a record-locked file, SIGEV_THREAD) and, with requests still pending, starts a program with posix_spawn, with fork+exec, and finally execs itself: each new image has exactly the descriptors it had before the first AIO call, none of the library's */
#include "support/defer.h"
#include "support/stream.h"
#include <spawn.h>

extern char **environ;

#define SEED 67
enum { SZ = 4096, MAXFD = 64 };

/* The new image: every open descriptor must be one of those named in argv[2..]. */
static int check_fds(int argc, char **argv)
{
    int dfd = -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 2;
    dfd = dirfd(d);
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == dfd)
            continue;
        int known = 0;
        for (int i = 2; i < argc; i++)
            known |= atoi(argv[i]) == fd;
        if (!known) {
            char path[64], target[256];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(path, target, sizeof target - 1);
            target[n > 0 ? n : 0] = 0;
            fprintf(stderr, "%s: descriptor %d (%s) survived exec\n", argv[1], fd, target);
            bad = 1;
        }
    }
    closedir(d);
    return bad;
}

static atomic_int callbacks;
static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&callbacks, 1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "child", 5) == 0)
        return check_fds(argc, argv);

    /* The descriptors the process has before any AIO (what the runner left open). */
    static char *args[MAXFD + 3];
    static char names[MAXFD][12];
    int nargs = 2;
    for (int fd = 0; fd < 1024 && nargs < MAXFD; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) {
            snprintf(names[nargs - 2], sizeof names[0], "%d", fd);
            args[nargs] = names[nargs - 2];
            nargs++;
        }
    }
    args[0] = argv[0];
    args[nargs] = NULL;

    int f = tmp_pattern_file(1 << 20, SEED);
    SYS(fcntl(f, F_SETFD, FD_CLOEXEC));
    defer_prime(f, SEED);
    int d = tmp_open(O_DIRECT | O_CLOEXEC);
    int w = tmp_open(0);
    SYS(fcntl(w, F_SETFD, FD_CLOEXEC));
    struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    SYS(fcntl(w, F_SETLK, &lk));
    int p[2], sp[2];
    SYS(pipe2(p, O_CLOEXEC));
    SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));

    static char rb[8][SZ], db[SZ] __attribute__((aligned(4096))), wb[4][512];
    struct aiocb r[8], dr, wr[4], pr, sr;
    char pbyte, sbyte;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            cb_init(&r[i], f, rb[i], SZ, SZ * (i + round));
            CHECK_EQ(aio_read(&r[i]), 0);
        }
        if (d >= 0) {
            cb_init(&dr, d, db, SZ, 0);
            CHECK_EQ(aio_read(&dr), 0);
        }
        for (int i = 0; i < 4; i++) {
            cb_init(&wr[i], w, wb[i], sizeof wb[i], 512 * i);
            if (i == 0) {
                wr[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
                wr[i].aio_sigevent.sigev_notify_function = on_done;
            }
            CHECK_EQ(aio_write(&wr[i]), 0);
        }
        if (round == 0) {
            cb_init(&pr, p[0], &pbyte, 1, 0);
            CHECK_EQ(aio_read(&pr), 0);
            cb_init(&sr, sp[0], &sbyte, 1, 0);
            CHECK_EQ(aio_read(&sr), 0);
            const struct aiocb *l[1] = { &sr };
            struct timespec ts = ms_ts(5);
            CHECK_ERR(aio_suspend(l, 1, &ts), EAGAIN);
        }
        char what[16];
        snprintf(what, sizeof what, "child%d", round);
        args[1] = what;
        if (round == 0) {
            pid_t pid;
            int e = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ);
            if (e)
                die("posix_spawn: %s", strerror(e));
            wait_child_ok(pid, "the posix_spawn child");
        } else {
            pid_t pid = SYS(fork());
            if (pid == 0) {
                execve("/proc/self/exe", args, environ);
                _exit(3);
            }
            wait_child_ok(pid, "the fork+exec child");
        }
        for (int i = 0; i < 8; i++) {
            wait_done(&r[i]);
            CHECK_DONE_OK(&r[i], SZ);
        }
        for (int i = 0; i < 4; i++) {
            wait_done(&wr[i]);
            CHECK_DONE_OK(&wr[i], 512);
        }
        if (d >= 0) {
            wait_done(&dr);
            CHECK_DONE_OK(&dr, 0);
        }
    }
    WAIT_UNTIL(atomic_load(&callbacks) == 3, DONE_MS);
    CHECK_EQ(aio_error(&pr), EINPROGRESS);
    CHECK_EQ(aio_error(&sr), EINPROGRESS);
    /* And the process itself, with the pipe and socket reads still pending. */
    args[1] = "child-self";
    execve("/proc/self/exe", args, environ);
    die("execve");
}
