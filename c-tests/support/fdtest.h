/*
 * Helpers for the descriptor and resource tests (closed and reused numbers,
 * closefrom, full descriptor table, thread limits, seccomp after setup):
 * waiting for signals without calling into AIO, filling a pipe, closing
 * every descriptor above a bound, file identities, and a call run with a
 * time bound in another thread (so a hang is reported as such).
 */
#ifndef AIO_CTEST_FDTEST_H
#define AIO_CTEST_FDTEST_H

#include "common.h"
#include <dirent.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* ------------------------------------------------------------- signals */

/* Block sig in the calling thread (do it before any thread exists, so every
 * thread the program or the library starts inherits the mask). */
CT_FN void block_signal(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
}

/* Take queued instances of the blocked signal sig until want of them have
 * arrived or ms milliseconds have passed, without calling any AIO function
 * (a notification must arrive although nobody asks for the status).  Each
 * si_value.sival_int in [0, nvals) is counted in counts[]; others in
 * *strays.  Returns how many arrived. */
CT_FN int take_signals(int sig, int want, long ms, int *counts, int nvals,
                       int *strays)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    long long deadline = now_ms() + ms;
    int got = 0;
    while (got < want) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct timespec ts = ms_ts(left);
        siginfo_t si;
        int r = sigtimedwait(&set, &si, &ts);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            die("sigtimedwait");
        }
        int v = si.si_value.sival_int;
        if (v >= 0 && v < nvals)
            counts[v]++;
        else if (strays)
            (*strays)++;
        got++;
    }
    return got;
}

/* Any more instances of sig that arrive within ms (duplicates). */
CT_FN int extra_signals(int sig, long ms, int *counts, int nvals, int *strays)
{
    return take_signals(sig, 1 << 30, ms, counts, nvals, strays);
}

/* ------------------------------------------------------------- pipes */

/* Fill the pipe whose write end is wfd until a write would block; returns
 * the number of bytes put in.  The descriptor's blocking mode is restored. */
CT_FN size_t fill_pipe(int wfd, char byte)
{
    int fl = SYS(fcntl(wfd, F_GETFL));
    SYS(fcntl(wfd, F_SETFL, fl | O_NONBLOCK));
    char chunk[4096];
    memset(chunk, byte, sizeof chunk);
    size_t total = 0;
    for (;;) {
        ssize_t r = write(wfd, chunk, sizeof chunk);
        if (r > 0) {
            total += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            /* a pipe takes partial pages too: top it up byte by byte */
            if (write(wfd, chunk, 1) == 1) {
                total++;
                continue;
            }
            if (errno == EAGAIN)
                break;
        }
        die("filling the pipe");
    }
    SYS(fcntl(wfd, F_SETFL, fl));
    return total;
}

/* Read whatever is in the stream rfd right now (non-blocking), up to n
 * bytes; returns the count. */
CT_FN size_t read_available(int rfd, void *buf, size_t n)
{
    int fl = SYS(fcntl(rfd, F_GETFL));
    SYS(fcntl(rfd, F_SETFL, fl | O_NONBLOCK));
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(rfd, (char *)buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || errno == EAGAIN)
            break;
        if (errno != EINTR)
            die("read(%d)", rfd);
    }
    SYS(fcntl(rfd, F_SETFL, fl));
    return got;
}

/* Read exactly n bytes that are known to be there or on their way, with a
 * bound; blocks nowhere else. */
CT_FN void read_within(int rfd, void *buf, size_t n, long ms)
{
    char *p = buf;
    long long deadline = now_ms() + ms;
    while (n > 0) {
        struct pollfd pfd = { rfd, POLLIN, 0 };
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            die("%zu bytes did not arrive on fd %d", n, rfd);
        ssize_t r = read(rfd, p, n);
        if (r <= 0)
            die("read(%d)", rfd);
        p += r;
        n -= (size_t)r;
    }
}

/* ------------------------------------------------------- descriptors */

struct fd_ident {
    dev_t dev;
    ino_t ino;
    mode_t fmt;
};

CT_FN struct fd_ident ident_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        die("fstat(%d): the descriptor is gone", fd);
    struct fd_ident id = { st.st_dev, st.st_ino, st.st_mode & S_IFMT };
    return id;
}

CT_FN int same_ident(struct fd_ident a, struct fd_ident b)
{
    return a.dev == b.dev && a.ino == b.ino && a.fmt == b.fmt;
}

/* The highest open descriptor number of this process (from /proc). */
CT_FN int highest_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("opendir /proc/self/fd");
    int self = dirfd(d), hi = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int n = atoi(e->d_name);
        if (n != self && n > hi)
            hi = n;
    }
    closedir(d);
    return hi;
}

/* Close every descriptor >= low, as a daemon does: close_range(2) if the
 * kernel has it, else one close() per number up to the highest open one. */
CT_FN void close_from(int low)
{
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
    if (syscall(SYS_close_range, (unsigned)low, ~0U, 0) == 0)
        return;
    int hi = highest_fd();
    for (int fd = low; fd <= hi; fd++)
        close(fd);
}

/* Make `fd` refer to what `src` refers to, and close src (unless equal). */
CT_FN void move_fd(int src, int fd)
{
    if (src == fd)
        return;
    SYS(dup2(src, fd));
    close(src);
}

/* --------------------------------------------------- a bounded call */

struct bounded_call {
    void *(*fn)(void *);
    void *arg;
    void *ret;
    atomic_int done;
};

static void *bounded_trampoline(void *p)
{
    struct bounded_call *c = p;
    c->ret = c->fn(c->arg);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Run fn(arg) in a new thread; fail with `what` if it has not returned
 * within ms (the test then exits: the stuck thread is left behind). */
CT_FN void *call_within(void *(*fn)(void *), void *arg, long ms,
                        const char *what)
{
    static struct bounded_call c; /* outlives a stuck thread */
    c.fn = fn;
    c.arg = arg;
    c.ret = NULL;
    atomic_store(&c.done, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, bounded_trampoline, &c) != 0)
        die("pthread_create");
    long long deadline = now_ms() + ms;
    while (!atomic_load(&c.done)) {
        if (now_ms() > deadline)
            die("%s did not return within %ld ms", what, ms);
        pause_us(200);
    }
    pthread_join(t, NULL);
    return c.ret;
}

/* --------------------------------------------------------- seccomp */

#if defined(__x86_64__)
#define FDT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FDT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Make system call nr fail with EPERM in every thread of the process from
 * now on (seccomp with TSYNC, as a sandbox installed late does).  Skips
 * the test where seccomp is unavailable. */
CT_FN void deny_syscall_all_threads(int nr)
{
#ifdef FDT_AUDIT_ARCH
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FDT_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {
        .len = (unsigned short)(sizeof prog / sizeof prog[0]),
        .filter = prog,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        skip("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_TSYNC, &fprog);
    if (r != 0)
        skip("seccomp(TSYNC): %s (returned %ld)", strerror(errno), r);
#else
    (void)nr;
    skip("no seccomp filter for this architecture");
#endif
}

/* ------------------------------------------- AIO going on elsewhere */

/* Descriptors for aio_elsewhere(), opened before the test closes the number
 * it is interested in (so that none of them takes that number). */
struct elsewhere {
    int file, rfd, wfd;
};

static atomic_int elsewhere_callbacks;

static void elsewhere_cb(union sigval v)
{
    (void)v;
    atomic_fetch_add(&elsewhere_callbacks, 1);
}

static void *elsewhere_thread(void *arg)
{
    struct elsewhere *e = arg;
    char buf[100];
    struct aiocb cb;
    cb_init(&cb, e->file, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 100);
    return NULL;
}

CT_FN void elsewhere_open(struct elsewhere *e)
{
    e->file = tmp_pattern_file(4096, 77);
    int p[2];
    make_pipe(p);
    e->rfd = p[0];
    e->wfd = p[1];
}

/* Ordinary AIO use on other descriptors that may make an implementation
 * open descriptors of its own: a new thread's first request (it may get a
 * queue of its own), a SIGEV_THREAD notification, a pending pipe read. */
CT_FN void aio_elsewhere(struct elsewhere *e)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, elsewhere_thread, e), 0);
    pthread_join(t, NULL);
    char b1[100], b2[16];
    struct aiocb c1, c2;
    int before = atomic_load(&elsewhere_callbacks);
    cb_init(&c1, e->file, b1, sizeof b1, 100);
    c1.aio_sigevent.sigev_notify = SIGEV_THREAD;
    c1.aio_sigevent.sigev_notify_function = elsewhere_cb;
    CHECK_EQ(aio_read(&c1), 0);
    cb_init(&c2, e->rfd, b2, sizeof b2, 0);
    CHECK_EQ(aio_read(&c2), 0);
    write_all(e->wfd, "more aio on pipe", 16);
    wait_done(&c1);
    wait_done(&c2);
    CHECK_DONE_OK(&c1, 100);
    CHECK_DONE_OK(&c2, 16);
    WAIT_UNTIL(atomic_load(&elsewhere_callbacks) == before + 1, DONE_MS);
}

#endif
