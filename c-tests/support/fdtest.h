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
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* ------------------------------------------------------------- signals */

/* Counting SIGEV_SIGNAL notifications with a handler (any thread may take a
 * process-directed signal: under glibc a SIGEV_THREAD callback runs with
 * signals unblocked).  Each si_value.sival_int in [0, SIGC_MAX) is counted
 * on its own, anything else as a stray. */
#define SIGC_MAX 4096
static atomic_int sigc_counts[SIGC_MAX];
static atomic_int sigc_total, sigc_strays;

static void sigc_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    int v = si->si_value.sival_int;
    if (si->si_code == SI_ASYNCIO && v >= 0 && v < SIGC_MAX)
        atomic_fetch_add(&sigc_counts[v], 1);
    else
        atomic_fetch_add(&sigc_strays, 1);
    atomic_fetch_add(&sigc_total, 1);
}

/* Count notifications by signal sig from now on (SA_RESTART, so the
 * program's own calls are not interrupted). */
CT_FN void sigc_install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigc_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    SYS(sigaction(sig, &sa, NULL));
}

/* Wait until `total` notifications have arrived in all, or ms have passed,
 * without calling any AIO function (a notification must arrive although
 * nobody asks for a status).  Returns the number that arrived. */
CT_FN int sigc_wait(int total, long ms)
{
    long long deadline = now_ms() + ms;
    while (atomic_load(&sigc_total) < total && now_ms() < deadline)
        pause_us(200);
    return atomic_load(&sigc_total);
}

CT_FN int sigc_count(int v) { return atomic_load(&sigc_counts[v]); }

/* Fail unless values [from, to) were each notified exactly once and nothing
 * else arrived; waits `grace_ms` first for duplicates. */
CT_FN void sigc_expect_once(int from, int to, long grace_ms)
{
    pause_us(grace_ms * 1000); /* a duplicate would come now, if at all */
    for (int v = from; v < to; v++)
        if (sigc_count(v) != 1)
            die("request %d notified %d times", v, sigc_count(v));
    if (atomic_load(&sigc_strays))
        die("%d stray signals (other si_value or si_code)",
            atomic_load(&sigc_strays));
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

#ifdef FDT_AUDIT_ARCH
/* Installs the seccomp filter prog (len instructions) in every thread of the
 * process (TSYNC, as a sandbox installed late does).  Skips the test where
 * that cannot be done. */
CT_FN void filter_all_threads(struct sock_filter *prog, size_t len)
{
    struct sock_fprog fprog = { .len = (unsigned short)len, .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        skip("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_TSYNC, &fprog);
    if (r != 0)
        skip("seccomp(TSYNC): %s (returned %ld)", strerror(errno), r);
}
#endif

/* Make system call nr fail with errno err in every thread of the process
 * from now on, but only when the low 32 bits of its argument argi (0-5)
 * match val: equal it, or with any_bit, share a set bit with it (as a kernel
 * that lacks a command or a flag answers, or a container's profile that
 * refuses it); argi < 0: every call.  Skips the test where seccomp is
 * unavailable. */
CT_FN void refuse_syscall_arg_all_threads(int nr, int argi, unsigned val, int any_bit, int err)
{
#ifdef FDT_AUDIT_ARCH
    unsigned arg = (unsigned)(offsetof(struct seccomp_data, args) + 8 * (size_t)argi);
    if (argi < 0) { /* every call: its number again, equal to itself */
        arg = offsetof(struct seccomp_data, nr);
        val = (unsigned)nr;
        any_bit = 0;
    }
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FDT_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg), /* little-endian: the low word */
        BPF_JUMP(BPF_JMP | (any_bit ? BPF_JSET : BPF_JEQ) | BPF_K, val, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    filter_all_threads(prog, sizeof prog / sizeof prog[0]);
#else
    (void)nr;
    (void)argi;
    (void)val;
    (void)any_bit;
    (void)err;
    skip("no seccomp filter for this architecture");
#endif
}

/* Make system call nr fail with EPERM in every thread of the process from
 * now on (seccomp with TSYNC, as a sandbox installed late does).  Skips
 * the test where seccomp is unavailable. */
CT_FN void deny_syscall_all_threads(int nr)
{
    refuse_syscall_arg_all_threads(nr, -1, 0, 0, EPERM);
}

/* ------------------------------------------- AIO going on elsewhere */

static atomic_int elsewhere_callbacks;

static void elsewhere_cb(union sigval v)
{
    (void)v;
    atomic_fetch_add(&elsewhere_callbacks, 1);
}

struct first_req {
    int fd;
    const char *when;
};

static void *first_req_main(void *arg)
{
    struct first_req *r = arg;
    char b[64];
    struct aiocb cb;
    cb_init(&cb, r->fd, b, sizeof b, 0);
    CHECK_EQ(aio_read(&cb), 0);
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(&cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("%s: a new thread's first request (a read on a regular "
                "file) did not complete within %d ms", r->when, DONE_MS);
        const struct aiocb *l[1] = { &cb };
        struct timespec ts = ms_ts(100);
        aio_suspend(l, 1, &ts);
    }
    CHECK_DONE_OK(&cb, sizeof b);
    return NULL;
}

/* A new thread makes its first AIO request, a 64-byte read of regular file
 * fd (a new thread may get a queue of its own), and waits for it. */
CT_FN void new_thread_request(int fd, const char *when)
{
    struct first_req r = { fd, when };
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, first_req_main, &r), 0);
    pthread_join(t, NULL);
}

static void *cancel_main(void *arg)
{
    struct aiocb *cb = arg;
    return (void *)(intptr_t)aio_cancel(cb->aio_fildes, cb);
}

/* aio_cancel(cb->aio_fildes, cb), failing with `what` if it does not
 * return in time. */
CT_FN int cancel_within(struct aiocb *cb, long ms, const char *what)
{
    return (int)(intptr_t)call_within(cancel_main, cb, ms, what);
}

/* Descriptors for aio_elsewhere(), opened before the test closes the number
 * it is interested in (so that none of them takes that number). */
struct elsewhere {
    int file, rfd, wfd;
};

CT_FN void elsewhere_open(struct elsewhere *e)
{
    e->file = tmp_pattern_file(1 << 16, 77);
    int p[2];
    make_pipe(p);
    e->rfd = p[0];
    e->wfd = p[1];
}

/* Ordinary AIO use on other descriptors, of every kind that may make an
 * implementation open descriptors of its own: a new thread's first request
 * (it may get a queue of its own), a SIGEV_THREAD notification, a pending
 * pipe read, an fsync barrier, O_DIRECT, and (if sig > 0) a SIGEV_SIGNAL
 * notification with value `value` (the caller waits for that). */
CT_FN void aio_elsewhere_sig(struct elsewhere *e, int sig, int value)
{
    new_thread_request(e->file, "AIO elsewhere");
    char b1[100], b2[16], b3[100];
    struct aiocb c1, c2, c3, c4;
    int before = atomic_load(&elsewhere_callbacks);
    cb_init(&c1, e->file, b1, sizeof b1, 100);
    c1.aio_sigevent.sigev_notify = SIGEV_THREAD;
    c1.aio_sigevent.sigev_notify_function = elsewhere_cb;
    CHECK_EQ(aio_read(&c1), 0);
    cb_init(&c2, e->rfd, b2, sizeof b2, 0);
    CHECK_EQ(aio_read(&c2), 0);
    cb_init(&c3, e->file, b3, sizeof b3, 200);
    if (sig > 0) {
        cb_signal(&c3, sig);
        c3.aio_sigevent.sigev_value.sival_int = value;
    }
    CHECK_EQ(aio_read(&c3), 0);
    cb_init(&c4, e->file, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &c4), 0);
    write_all(e->wfd, "more aio on pipe", 16);
    wait_done(&c1);
    wait_done(&c2);
    wait_done(&c3);
    wait_done(&c4);
    CHECK_DONE_OK(&c1, 100);
    CHECK_DONE_OK(&c2, 16);
    CHECK_DONE_OK(&c3, 100);
    CHECK_DONE_OK(&c4, 0);
    WAIT_UNTIL(atomic_load(&elsewhere_callbacks) == before + 1, DONE_MS);
    int d = tmp_open(O_DIRECT);
    if (d >= 0) {
        void *mem;
        if (posix_memalign(&mem, 4096, 4096) != 0)
            die("posix_memalign");
        memset(mem, 7, 4096);
        struct aiocb dc;
        cb_init(&dc, d, mem, 4096, 0);
        CHECK_EQ(aio_write(&dc), 0);
        wait_done(&dc);
        CHECK_DONE_OK(&dc, 4096);
        free(mem);
        close(d);
    }
}

CT_FN void aio_elsewhere(struct elsewhere *e) { aio_elsewhere_sig(e, 0, 0); }

/* ------------------------------------- numbers reused by the program */

/* After the library's descriptors were closed behind its back (closefrom),
 * the program fills the freed numbers with files and pipes of its own and
 * later checks that nobody read, wrote, closed or replaced any of them. */
#define REUSE_MAX 512
#define REUSE_FILE_LEN 64
#define REUSE_PIPE_LEN 16

struct reuse_obj {
    int kind;      /* 0: regular file; 1: pipe (rfd, wfd) */
    int fd, wfd;   /* wfd: the pipe's write end */
    struct fd_ident id, wid;
    unsigned seed;
};

struct reuse_set {
    int n;
    struct reuse_obj o[REUSE_MAX];
};

/* Add one object to the set at the lowest free numbers: a regular file
 * holding REUSE_FILE_LEN pattern bytes (file offset 0) if kind is 0, else a
 * pipe holding REUSE_PIPE_LEN pattern bytes. */
CT_FN void reuse_add(struct reuse_set *s, int kind)
{
    if (s->n == REUSE_MAX)
        die("too many descriptors in a reuse set");
    struct reuse_obj *o = &s->o[s->n];
    o->seed = 5000u + (unsigned)s->n;
    o->kind = kind;
    if (kind == 0) {
        o->fd = tmp_open(0);
        o->wfd = -1;
        char b[REUSE_FILE_LEN];
        pat_fill(b, sizeof b, 0, o->seed);
        CHECK_EQ(pwrite(o->fd, b, sizeof b, 0), sizeof b);
    } else {
        int p[2];
        make_pipe(p);
        o->fd = p[0];
        o->wfd = p[1];
        char b[REUSE_PIPE_LEN];
        pat_fill(b, sizeof b, 0, o->seed);
        write_all(o->wfd, b, sizeof b);
        o->wid = ident_of(o->wfd);
    }
    o->id = ident_of(o->fd);
    s->n++;
}

/* Open files and pipes, alternately, until every number from the lowest
 * free one to at least `upto` is taken (the set starts empty). */
CT_FN void reuse_fill(struct reuse_set *s, int upto)
{
    s->n = 0;
    while (highest_fd() < upto)
        reuse_add(s, s->n % 2);
}

/* Is every descriptor of the set still open and still the same file? */
CT_FN void reuse_check_open(const struct reuse_set *s, const char *when)
{
    for (int i = 0; i < s->n; i++) {
        const struct reuse_obj *o = &s->o[i];
        int fds[2] = { o->fd, o->wfd };
        const struct fd_ident ids[2] = { o->id, o->wid };
        for (int k = 0; k < 2; k++) {
            if (fds[k] < 0)
                continue;
            struct stat st;
            if (fstat(fds[k], &st) != 0)
                die("%s: the program's descriptor %d (%s) was closed", when,
                    fds[k], o->kind ? (k ? "pipe write end" : "pipe read end")
                                    : "regular file");
            struct fd_ident now = { st.st_dev, st.st_ino, st.st_mode & S_IFMT };
            if (!same_ident(now, ids[k]))
                die("%s: the program's descriptor %d is no longer its own "
                    "file (closed and replaced)", when, fds[k]);
        }
    }
}

/* Is the content of every file and pipe of the set exactly what the program
 * put there (nothing written, read, or moved)?  The pipes' data is read
 * and put back. */
CT_FN void reuse_check_data(const struct reuse_set *s, const char *when)
{
    for (int i = 0; i < s->n; i++) {
        const struct reuse_obj *o = &s->o[i];
        if (o->kind == 0) {
            unsigned char b[REUSE_FILE_LEN + 4096];
            off_t pos = lseek(o->fd, 0, SEEK_CUR);
            ssize_t n = pread(o->fd, b, sizeof b, 0);
            if (n != REUSE_FILE_LEN)
                die("%s: the program's file at fd %d holds %zd bytes, "
                    "expected %d (something wrote into it)%s", when, o->fd, n,
                    REUSE_FILE_LEN,
                    n >= 8 && !memcmp(b + REUSE_FILE_LEN, "\1\0\0\0\0\0\0\0", 8)
                        ? "; an 8-byte eventfd token follows our data" : "");
            for (int j = 0; j < REUSE_FILE_LEN; j++)
                if (b[j] != pat_byte(j, o->seed))
                    die("%s: the program's file at fd %d changed at byte %d",
                        when, o->fd, j);
            if (pos != 0)
                die("%s: the file offset of the program's fd %d moved to %lld "
                    "(something read or wrote it)", when, o->fd, (long long)pos);
        } else {
            unsigned char b[REUSE_PIPE_LEN + 4096];
            size_t n = read_available(o->fd, b, sizeof b);
            if (n != REUSE_PIPE_LEN)
                die("%s: the program's pipe (read end %d, write end %d) holds "
                    "%zu bytes, expected %d (data eaten or written by someone "
                    "else)", when, o->fd, o->wfd, n, REUSE_PIPE_LEN);
            for (int j = 0; j < REUSE_PIPE_LEN; j++)
                if (b[j] != pat_byte(j, o->seed))
                    die("%s: the program's pipe at fd %d holds foreign data",
                        when, o->fd);
            write_all(o->wfd, b, REUSE_PIPE_LEN); /* put it back */
        }
    }
}

/* ------------------------------------------ cancelling pending reads */

/* r is what a submission returned: 0, or -1 with EAGAIN (allowed when a
 * resource is short).  Returns 1 if the request was accepted; anything else
 * fails the test. */
CT_FN int accepted_or_eagain(int r, const char *what)
{
    if (r == 0)
        return 1;
    if (r == -1 && errno == EAGAIN)
        return 0;
    die("%s returned %d errno %d (%s); only 0 or -1/EAGAIN are allowed",
        what, r, errno, strerror(errno));
}

static void *cancel_all_main(void *arg)
{
    return (void *)(intptr_t)aio_cancel(*(int *)arg, NULL);
}

/* A pending read on each of the k pipes (one worker each, for an
 * implementation that polls streams in threads), then each one cancelled
 * by itself, then two more on the first pipe cancelled with
 * aio_cancel(fd, NULL).  Every aio_cancel must return within DONE_MS, and
 * every accepted request complete (cancelled, or with the data written to
 * it when it was not cancelled).  Submissions may be refused with EAGAIN. */
CT_FN void cancel_pending_reads(int (*pipes)[2], int k, const char *when)
{
    static struct aiocb cbs[64];
    static char bufs[64][16];
    int ok[64];
    char what[160];
    if (k > 62)
        die("too many pipes");
    for (int i = 0; i < k; i++) {
        cb_init(&cbs[i], pipes[i][0], bufs[i], sizeof bufs[i], 0);
        snprintf(what, sizeof what, "%s: aio_read on pipe %d", when, i);
        ok[i] = accepted_or_eagain(aio_read(&cbs[i]), what);
    }
    for (int i = 0; i < k; i++) {
        if (!ok[i])
            continue;
        snprintf(what, sizeof what, "%s: aio_cancel of the pending read on "
                 "pipe %d", when, i);
        int r = cancel_within(&cbs[i], DONE_MS, what);
        if (r == AIO_NOTCANCELED) {
            write_all(pipes[i][1], "fed after cancel", 16);
            wait_done(&cbs[i]);
            CHECK_DONE_OK(&cbs[i], 16);
        } else {
            if (r != AIO_CANCELED)
                die("%s returned %d", what, r);
            CHECK_EQ(aio_error(&cbs[i]), ECANCELED);
            CHECK_EQ(aio_return(&cbs[i]), -1);
        }
    }
    int fd = pipes[0][0];
    for (int i = k; i < k + 2; i++) {
        cb_init(&cbs[i], fd, bufs[i], sizeof bufs[i], 0);
        snprintf(what, sizeof what, "%s: aio_read on pipe 0", when);
        ok[i] = accepted_or_eagain(aio_read(&cbs[i]), what);
    }
    snprintf(what, sizeof what, "%s: aio_cancel(fd, NULL) with pending reads",
             when);
    int r = (int)(intptr_t)call_within(cancel_all_main, &fd, DONE_MS, what);
    if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
        die("%s returned %d", what, r);
    if (r == AIO_NOTCANCELED)
        write_all(pipes[0][1], "fed after cancelfed after cancel", 32);
    for (int i = k; i < k + 2; i++) {
        if (!ok[i])
            continue;
        wait_done(&cbs[i]);
        int e = aio_error(&cbs[i]);
        if (e == ECANCELED)
            CHECK_EQ(aio_return(&cbs[i]), -1);
        else if (e != 0 || aio_return(&cbs[i]) <= 0)
            die("%s: read %d after aio_cancel(fd, NULL): error %d", when, i, e);
    }
    /* whatever was fed and not read stays for later reads: drain it */
    for (int i = 0; i < k; i++) {
        char sink[64];
        read_available(pipes[i][0], sink, sizeof sink);
    }
}

/* Fill the descriptor table: RLIMIT_NOFILE soft limit `limit` (<= 4096),
 * then dup() until EMFILE.  Returns how many descriptors were added. */
static int fdt_dups[4096], fdt_ndups;

CT_FN int fill_fd_table(int limit)
{
    struct rlimit rl;
    SYS(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)limit)
        skip("RLIMIT_NOFILE hard limit %ld", (long)rl.rlim_max);
    struct rlimit small = { (rlim_t)limit, rl.rlim_max };
    SYS(setrlimit(RLIMIT_NOFILE, &small));
    int null = open("/dev/null", O_RDONLY);
    if (null < 0) {
        if (errno == EMFILE)
            return 0;
        die("open /dev/null");
    }
    fdt_dups[fdt_ndups++] = null;
    int n = 1;
    for (;;) {
        int d = dup(null);
        if (d < 0) {
            if (errno != EMFILE)
                die("dup");
            break;
        }
        if (fdt_ndups == 4096)
            die("more than 4096 descriptors");
        fdt_dups[fdt_ndups++] = d;
        n++;
    }
    return n;
}

/* Release n of the descriptors fill_fd_table added. */
CT_FN void unfill_fd_table(int n)
{
    while (n-- > 0 && fdt_ndups > 0)
        close(fdt_dups[--fdt_ndups]);
}

/* ------------------------------------------- like read(2)/write(2) */

/* The outcome of one request: at submission (sub_errno, 0 if accepted),
 * else its aio_error and aio_return. */
struct rw_outcome {
    int sub_errno, err;
    ssize_t ret;
};

/* Submit aio_read (or aio_write if `write`) of n bytes at off on fd and
 * wait for it (bounded: a request that stays in progress fails the test,
 * with `what`). */
CT_FN struct rw_outcome aio_rw(int fd, int write, void *buf, size_t n, off_t off,
                               const char *what)
{
    struct rw_outcome o = { 0, 0, 0 };
    struct aiocb cb;
    cb_init(&cb, fd, buf, n, off);
    errno = 0;
    int r = write ? aio_write(&cb) : aio_read(&cb);
    if (r != 0) {
        if (r != -1 || errno == 0)
            die("%s: submission returned %d", what, r);
        o.sub_errno = errno;
        return o;
    }
    wait_done(&cb);
    o.err = aio_error(&cb);
    o.ret = aio_return(&cb);
    return o;
}

/* The request must fail the way the system call did: with errno `e`, as its
 * error (aio_return -1), or at submission if e is EBADF. */
CT_FN void expect_errno(struct rw_outcome o, int e, const char *what)
{
    if (o.sub_errno) {
        if (o.sub_errno == e && e == EBADF)
            return;
        die("%s: refused at submission with errno %d (%s), expected the "
            "request to complete with errno %d (%s)", what, o.sub_errno,
            strerror(o.sub_errno), e, strerror(e));
    }
    if (o.err != e)
        die("%s: completed with error %d (%s) and return %zd, expected error "
            "%d (%s) as the system call gives", what, o.err, strerror(o.err),
            o.ret, e, strerror(e));
    if (o.ret != -1)
        die("%s: aio_return %zd with error %d", what, o.ret, o.err);
}

/* The request must have transferred n bytes. */
CT_FN void expect_bytes(struct rw_outcome o, ssize_t n, const char *what)
{
    if (o.sub_errno)
        die("%s: refused at submission with errno %d (%s), expected %zd bytes "
            "transferred", what, o.sub_errno, strerror(o.sub_errno), n);
    if (o.err != 0 || o.ret != n)
        die("%s: error %d (%s), return %zd; expected %zd bytes transferred",
            what, o.err, strerror(o.err), o.ret, n);
}

/* errno of a system call that must fail (fails the test if it succeeds). */
#define SYS_ERRNO(expr)                                                    \
    ({                                                                     \
        errno = 0;                                                         \
        long long _r = (long long)(expr);                                  \
        if (_r != -1)                                                      \
            die("%s returned %lld, expected it to fail", #expr, _r);       \
        errno;                                                             \
    })

/* aio_read and aio_write of fd (`name` in messages) fail as read(2) and write(2) do on it, or,
 * when `positional`, as pread(2) and pwrite(2) at offset 0 do. */
CT_FN void expect_like_syscalls(int fd, const char *name, int positional)
{
    char buf[64] = { 0 }, what[96];
    int e = positional ? SYS_ERRNO(pread(fd, buf, sizeof buf, 0)) : SYS_ERRNO(read(fd, buf, sizeof buf));
    snprintf(what, sizeof what, "%s: aio_read", name);
    expect_errno(aio_rw(fd, 0, buf, sizeof buf, 0, what), e, what);
    e = positional ? SYS_ERRNO(pwrite(fd, buf, sizeof buf, 0)) : SYS_ERRNO(write(fd, buf, sizeof buf));
    snprintf(what, sizeof what, "%s: aio_write", name);
    expect_errno(aio_rw(fd, 1, buf, sizeof buf, 0, what), e, what);
}

/* A one-byte read on `fd` of the "x" written after a closefrom took the library's descriptors
 * ended exactly once: it read the byte into `buf`, or it ended with ECANCELED and the byte is
 * still there for the next reader. */
CT_FN void check_x_read_or_left(struct aiocb *cb, const char *buf, int fd)
{
    int e = aio_error(cb);
    if (e == 0) {
        CHECK_EQ(aio_return(cb), 1);
        CHECK_EQ(buf[0], 'x');
        return;
    }
    CHECK_EQ(e, ECANCELED);
    CHECK_EQ(aio_return(cb), -1);
    struct pollfd pfd = { fd, POLLIN, 0 };
    CHECK_EQ(poll(&pfd, 1, DONE_MS), 1);
    char c;
    read_all(fd, &c, 1);
    CHECK_EQ(c, 'x');
}

/* Lowers RLIMIT_NPROC to 1 (its old value in *old, to restore), so that no thread can be made
 * any more, and checks that by making one: skips where that still works (a privileged process).
 * Returns pthread_create's error. */
CT_FN void *nproc_probe_thread(void *arg) { return arg; }
CT_FN int limit_threads_to_none(struct rlimit *old)
{
    SYS(getrlimit(RLIMIT_NPROC, old));
    struct rlimit one = { 1, old->rlim_max };
    SYS(setrlimit(RLIMIT_NPROC, &one));
    pthread_t t;
    int e = pthread_create(&t, NULL, nproc_probe_thread, NULL);
    if (e == 0) {
        pthread_join(t, NULL);
        skip("RLIMIT_NPROC does not stop thread creation here (privileged?)");
    }
    return e;
}

/* Runs body() where RLIMIT_NPROC binds and returns its exit status: directly for an unprivileged
 * user; for root, which the limit does not bind, in a child switched to uid and gid 65534 (skips
 * if it cannot switch), bounded by TEST_ALARM. */
CT_FN int run_where_nproc_binds(int (*body)(void))
{
    if (geteuid() != 0)
        return body();
    pid_t pid = SYS(fork());
    if (pid == 0) {
        alarm(TEST_ALARM);
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            skip("cannot switch to uid 65534: %s", strerror(errno));
        _exit(body());
    }
    int st = wait_child_ms(pid, (TEST_ALARM - 2) * 1000L, "the unprivileged child");
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    die("the unprivileged child was killed by signal %d", WTERMSIG(st));
}

/* Ways of finishing pipe read cb on p (submitted, its byte not written yet) other than waiting
 * for it alone, each checking it completes exactly once with `byte` in buf: 0, fed and seen by
 * polling aio_error (no aio_suspend); 1, fed and seen by aio_suspend on a list with another
 * pending read, on pipe q, which is then fed and finished too; 2, cancelled by aio_cancel
 * (AIO_CANCELED with the byte left in the pipe, or, on glibc, whose thread is already blocked
 * in read, AIO_NOTCANCELED and done with it). The pipe is empty afterwards. */
CT_FN void finish_unclaimed(int p[2], int q[2], struct aiocb *cb, char *buf, char byte, int how)
{
    if (how == 0) {
        write_all(p[1], &byte, 1);
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(cb) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("a read not waited for with aio_suspend did not complete");
            pause_us(200);
        }
        CHECK_DONE_OK(cb, 1);
        CHECK_EQ(buf[0], byte);
    } else if (how == 1) {
        char other;
        struct aiocb cq;
        cb_init(&cq, q[0], &other, 1, 0);
        CHECK_EQ(aio_read(&cq), 0);
        write_all(p[1], &byte, 1);
        const struct aiocb *two[2] = { &cq, cb };
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(cb) == EINPROGRESS) {
            if (now_ms() > deadline)
                die("aio_suspend on two requests missed the fed one");
            struct timespec ts = ms_ts(DONE_MS);
            if (aio_suspend(two, 2, &ts) != 0 && errno != EINTR)
                die("aio_suspend on two requests");
        }
        CHECK_DONE_OK(cb, 1);
        CHECK_EQ(buf[0], byte);
        CHECK_EQ(aio_error(&cq), EINPROGRESS);
        write_all(q[1], "q", 1);
        wait_done(&cq);
        CHECK_DONE_OK(&cq, 1);
        CHECK_EQ(other, 'q');
    } else {
        int r = aio_cancel(p[0], cb);
        write_all(p[1], &byte, 1);
        if (r == AIO_CANCELED) {
            CHECK_EQ(aio_error(cb), ECANCELED);
            CHECK_EQ(aio_return(cb), -1);
            char c;
            read_within(p[0], &c, 1, DONE_MS);
            CHECK_EQ(c, byte);
        } else {
            CHECK_EQ(r, AIO_NOTCANCELED);
            wait_done(cb);
            CHECK_DONE_OK(cb, 1);
            CHECK_EQ(buf[0], byte);
        }
    }
    char left;
    CHECK_EQ(read_available(p[0], &left, 1), 0);
}

#endif
