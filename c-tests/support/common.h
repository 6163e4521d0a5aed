/*
 * Shared helpers for the aio-rs C tests.  Header-only: every helper is a
 * static function, so a test only pays for what it uses.
 *
 * Conventions: exit 0 = pass, 1 = fail, 77 = skip.  Every wait is bounded
 * (a watchdog alarm() is armed before main() runs; a test can change the
 * limit by defining TEST_ALARM before including this header).
 *
 * Only the system <aio.h> is used, so the tests build against plain glibc.
 */
#ifndef AIO_CTEST_COMMON_H
#define AIO_CTEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <aio.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CT_FN static __attribute__((unused))

#ifndef TEST_ALARM
#define TEST_ALARM 10
#endif

/* Default bound for "this request must complete soon". */
#define DONE_MS 5000
/* Bound for a call that must return without waiting. The tests that use it arrange that a call
 * which did wait would wait for an event the test causes only after the call returns, so it would
 * hang until the watchdog; the bound catches a call that waits for some timeout of its own. It is
 * generous because a loaded 2-core CI machine can stall a thread for over 100 ms. */
#define NOBLOCK_NS 2000000000LL

/* ---------------------------------------------------------------- failing */

__attribute__((noreturn, format(printf, 3, 4)))
CT_FN void fail_at(const char *file, int line, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " [errno %d: %s]\n", saved, strerror(saved));
    fflush(NULL);
    _exit(1);
}

__attribute__((noreturn, format(printf, 1, 2)))
CT_FN void skip(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "SKIP: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(NULL);
    _exit(77);
}

/* die("fmt", ...): fail the test, reporting where and errno. */
#define die(...) fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* CHECK(cond): fail with the condition text if it is false. */
#define CHECK(cond) \
    do { if (!(cond)) die("check failed: %s", #cond); } while (0)

/* CHECK_EQ(a, b): compare as long long and print both values. */
#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                \
        if (_a != _b)                                                      \
            die("%s == %lld, expected %s == %lld", #a, _a, #b, _b);        \
    } while (0)

/* CHECK_ERR(expr, e): expr must return -1 with errno e. */
#define CHECK_ERR(expr, e)                                                 \
    do {                                                                   \
        errno = 0;                                                         \
        long long _r = (long long)(expr);                                  \
        int _e = errno;                                                    \
        if (_r != -1 || _e != (e))                                         \
            die("%s returned %lld errno %d (%s), expected -1 errno %s",   \
                #expr, _r, _e, strerror(_e), #e);                          \
    } while (0)

/* SYS(expr): a system call that must not fail; yields its value. */
#define SYS(expr)                                                          \
    ({                                                                     \
        __typeof__(expr) _v = (expr);                                      \
        if (_v == (__typeof__(expr))-1) die("%s", #expr);                  \
        _v;                                                                \
    })

/* ------------------------------------------------------------------ time */

CT_FN long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

CT_FN long long now_ms(void) { return now_ns() / 1000000LL; }

CT_FN void pause_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Waits at most ms milliseconds for child pid to end (polling), and returns its wait status;
 * a child still running then is killed and the test fails, naming it what. */
CT_FN int wait_child_ms(pid_t pid, long ms, const char *what)
{
    long long deadline = now_ms() + ms;
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            die("%s did not finish in time", what);
        }
        pause_us(1000);
    }
    return st;
}

/* wait_child_ms with twice DONE_MS, and the child must have exited with 0. */
CT_FN void wait_child_ok(pid_t pid, const char *what)
{
    int st = wait_child_ms(pid, 2 * DONE_MS, what);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s failed (status 0x%x)", what, st);
}

CT_FN struct timespec ms_ts(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    return ts;
}

/* WAIT_UNTIL(cond, ms): poll cond until true; fail after ms milliseconds. */
#define WAIT_UNTIL(cond, ms)                                               \
    do {                                                                   \
        long long _deadline = now_ms() + (ms);                             \
        while (!(cond)) {                                                  \
            if (now_ms() > _deadline)                                      \
                die("timed out after %d ms waiting for %s", (int)(ms),    \
                    #cond);                                                \
            pause_us(200);                                                 \
        }                                                                  \
    } while (0)

/* --------------------------------------------------------------- aiocbs */

CT_FN void cb_init(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
    memset(cb, 0, sizeof *cb);
    cb->aio_fildes = fd;
    cb->aio_buf = buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* Wait (with aio_suspend and a timeout) until cb is no longer in progress;
 * fail if that takes more than ms milliseconds. */
CT_FN void wait_done_ms(const struct aiocb *cb, long ms)
{
    long long deadline = now_ms() + ms;
    const struct aiocb *list[1] = { cb };
    while (aio_error(cb) == EINPROGRESS) {
        long long left = deadline - now_ms();
        if (left <= 0)
            die("request on fd %d did not complete within %ld ms",
                cb->aio_fildes, ms);
        struct timespec ts = ms_ts(left);
        if (aio_suspend(list, 1, &ts) != 0 && errno != EAGAIN &&
            errno != EINTR)
            die("aio_suspend");
    }
}

CT_FN void wait_done(const struct aiocb *cb) { wait_done_ms(cb, DONE_MS); }

/* Wait until every non-NULL entry of list is done. */
CT_FN void wait_all_ms(struct aiocb *const *list, int n, long ms)
{
    long long deadline = now_ms() + ms;
    for (int i = 0; i < n; i++) {
        if (!list[i])
            continue;
        long long left = deadline - now_ms();
        wait_done_ms(list[i], left > 0 ? left : 1);
    }
}

/* Expect cb to have finished successfully with exactly n bytes. */
#define CHECK_DONE_OK(cb, n)                                               \
    do {                                                                   \
        CHECK_EQ(aio_error(cb), 0);                                        \
        CHECK_EQ(aio_return(cb), (n));                                     \
    } while (0)

/* -------------------------------------------------------------- patterns */

/* Deterministic byte for file offset off under a given seed. */
CT_FN unsigned char pat_byte(long long off, unsigned seed)
{
    unsigned long long x = (unsigned long long)off * 0x9E3779B97F4A7C15ULL;
    x ^= (unsigned long long)seed * 0xD6E8FEB86659FD93ULL;
    return (unsigned char)(x >> 56);
}

CT_FN void pat_fill(void *buf, size_t n, long long off, unsigned seed)
{
    unsigned char *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = pat_byte(off + (long long)i, seed);
}

/* Slot k of a test that keeps one buffered write per block in flight: fills buf with the pattern
 * `seed` of block k (blk bytes at k * blk) and submits its write with cb. */
CT_FN void slot_write(struct aiocb *cb, char *buf, size_t blk, int fd, int k, unsigned seed)
{
    pat_fill(buf, blk, (long long)k * (long long)blk, seed);
    cb_init(cb, fd, buf, blk, (off_t)k * (off_t)blk);
    if (aio_write(cb) != 0)
        die("aio_write of slot %d", k);
}

/* Fail unless buf holds the pattern for [off, off+n). */
#define CHECK_PAT(buf, n, off, seed)                                       \
    do {                                                                   \
        const unsigned char *_b = (const void *)(buf);                     \
        for (size_t _i = 0; _i < (size_t)(n); _i++)                        \
            if (_b[_i] != pat_byte((off) + (long long)_i, (seed)))         \
                die("data mismatch at byte %zu (file offset %lld): got "   \
                    "0x%02x, expected 0x%02x", _i,                         \
                    (long long)(off) + (long long)_i, _b[_i],              \
                    pat_byte((off) + (long long)_i, (seed)));              \
    } while (0)

/* ------------------------------------------------------------ files/fds */

CT_FN const char *tmp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return (d && *d) ? d : "/var/tmp";
}

/* A descriptor number that is closed now and that nothing will reuse soon:
 * a plain open-then-close number is the lowest free one, which the AIO
 * implementation itself may take for its own descriptors on first use. */
CT_FN int closed_fd(void)
{
    int any = SYS(open("/dev/null", O_RDONLY));
    int fd = fcntl(any, F_DUPFD, 900);
    if (fd < 0)
        die("fcntl(F_DUPFD)");
    close(fd);
    close(any);
    return fd;
}

/* Create an unlinked temporary file in a real filesystem directory and
 * open it O_RDWR | extra_flags.  Returns -1 with errno if reopening with
 * extra_flags fails (e.g. O_DIRECT unsupported); any other error fails.
 * The file never has a name where the file system takes O_TMPFILE, else
 * only between mkstemp and the unlink right after it, so a test killed at
 * any moment leaves nothing behind (the runner also gives each run a
 * private TMPDIR that it removes). */
CT_FN int tmp_open(int extra_flags)
{
#ifdef O_TMPFILE
    int t = open(tmp_dir(), O_TMPFILE | O_RDWR | extra_flags, 0600);
    if (t >= 0)
        return t;
    /* EOPNOTSUPP/EISDIR: no O_TMPFILE here; EINVAL: maybe the extra flags:
     * the named way below tells which. */
#endif
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp in %s", tmp_dir());
    if (extra_flags) {
        int fd2 = open(path, O_RDWR | extra_flags);
        int e = errno;
        unlink(path);
        close(fd);
        errno = e;
        return fd2;
    }
    unlink(path);
    return fd;
}

/* A temporary file opened O_DIRECT; skips the test where the file system refuses O_DIRECT. */
CT_FN int tmp_open_direct(void)
{
    int fd = tmp_open(O_DIRECT);
    if (fd < 0) {
        if (errno == EINVAL)
            skip("O_DIRECT not supported in %s", tmp_dir());
        die("open O_DIRECT");
    }
    return fd;
}

/* Asks for signal `sig` on completion, carrying the aiocb's own address. */
CT_FN void cb_signal(struct aiocb *cb, int sig)
{
    cb->aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    cb->aio_sigevent.sigev_signo = sig;
    cb->aio_sigevent.sigev_value.sival_ptr = cb;
}

CT_FN void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("write(%d, %zu)", fd, n);
        p += r;
        n -= (size_t)r;
    }
}

/* Read exactly n bytes (blocking; the watchdog alarm bounds it). */
CT_FN void read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("read(%d, %zu) returned %zd", fd, n, r);
        p += r;
        n -= (size_t)r;
    }
}

/* A temporary file holding n bytes of pattern seed. */
CT_FN int tmp_pattern_file(size_t n, unsigned seed)
{
    int fd = tmp_open(0);
    char chunk[65536];
    for (size_t off = 0; off < n; off += sizeof chunk) {
        size_t len = n - off < sizeof chunk ? n - off : sizeof chunk;
        pat_fill(chunk, len, (long long)off, seed);
        if (pwrite(fd, chunk, len, (off_t)off) != (ssize_t)len)
            die("pwrite");
    }
    return fd;
}

CT_FN void make_pipe(int p[2]) { SYS(pipe(p)); }

/* After a read of pipe p completed: the read took its bytes once and nothing else. Bytes written
 * now come back whole and are all that is left (the read end is made non-blocking). */
CT_FN void check_pipe_read_once(int p[2])
{
    char back[4];
    write_all(p[1], "pong", 4);
    read_all(p[0], back, 4);
    CHECK(memcmp(back, "pong", 4) == 0);
    SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
    CHECK_ERR(read(p[0], back, 1), EAGAIN);
}

/* ------------------------------------------------------------- signals */

typedef void (*siginfo_handler)(int, siginfo_t *, void *);

/* Install a SA_SIGINFO handler without SA_RESTART. */
CT_FN void on_signal(int sig, siginfo_handler fn)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    SYS(sigaction(sig, &sa, NULL));
}

/* A periodic timer that signals the calling thread (not the process), so a
 * blocking call in this thread is interrupted even when other threads exist.
 * The first expiry is after first_ms, then every period_ms. */
CT_FN timer_t thread_timer_start(int sig, long first_ms, long period_ms)
{
    timer_t t;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = sig;
    sev._sigev_un._tid = gettid();
    SYS(timer_create(CLOCK_MONOTONIC, &sev, &t));
    struct itimerspec its;
    its.it_value = ms_ts(first_ms);
    its.it_interval = ms_ts(period_ms);
    SYS(timer_settime(t, 0, &its, NULL));
    return t;
}

CT_FN void thread_timer_stop(timer_t t) { SYS(timer_delete(t)); }

/* Number of threads of this process, from /proc/self/status. */
CT_FN int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (!f)
        die("fopen /proc/self/status");
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Number of this process's descriptors whose link target contains `what`
 * ("io_uring", "eventfd", ...). */
CT_FN int count_fds(const char *what)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("opendir /proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0) {
            target[len] = 0;
            n += strstr(target, what) != NULL;
        }
    }
    closedir(d);
    return n;
}

/* Whether function `fn` lives in aio-rs (linked or preloaded), not glibc. */
CT_FN int is_aio_rs(void *fn)
{
    Dl_info info;
    return fn && dladdr(fn, &info) && info.dli_fname &&
           strstr(info.dli_fname, "libaio_rs");
}

/* Starts the AIO engine with one read of `fd` (which holds at least 16
 * bytes), for tests about the calls once it runs. */
CT_FN void start_engine(int fd)
{
    struct aiocb warm;
    char wb[16];
    cb_init(&warm, fd, wb, sizeof wb, 0);
    CHECK_EQ(aio_read(&warm), 0);
    wait_done(&warm);
    CHECK_DONE_OK(&warm, sizeof wb);
}

/* n reads of `sz` bytes at i * sz of a pattern file (seed), one at a time,
 * each waited for and checked. */
CT_FN void read_one_by_one(int fd, int n, size_t sz, unsigned seed)
{
    char buf[4096];
    if (sz > sizeof buf)
        die("read_one_by_one: %zu bytes is more than %zu", sz, sizeof buf);
    for (int i = 0; i < n; i++) {
        struct aiocb cb;
        cb_init(&cb, fd, buf, sz, (off_t)i * (off_t)sz);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, sz);
        CHECK_PAT(buf, sz, (long long)i * (long long)sz, seed);
    }
}

/* Waits for the n reads of `sz` bytes at i * sz of a pattern file (seed),
 * cbs[i] into bufs + i * sz, and checks them: entry `bad` failed with
 * EBADF, every other one read its data. */
CT_FN void check_reads_one_ebadf(struct aiocb *cbs, char *bufs, int n,
                                 size_t sz, int bad, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        wait_done(&cbs[i]);
        if (i == bad) {
            CHECK_EQ(aio_error(&cbs[i]), EBADF);
            CHECK_EQ(aio_return(&cbs[i]), -1);
        } else {
            CHECK_DONE_OK(&cbs[i], sz);
            CHECK_PAT(bufs + (size_t)i * sz, sz, (long long)i * sz, seed);
        }
    }
}

/* -------------------------------------------------------- the watchdog */

__attribute__((constructor)) CT_FN void ctest_watchdog(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(TEST_ALARM);
}

#endif
