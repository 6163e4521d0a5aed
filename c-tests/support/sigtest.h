/*
 * Helpers for the tests of how AIO fits into a program's threads and
 * signals: thread and process states read from /proc, joins with a bound,
 * a thread that runs with a deferred cancel pending, and the "no spurious
 * EINTR" harness (a thread that submits a request and then blocks in one
 * of the program's own system calls while that request completes).
 */
#ifndef AIO_CTEST_SIGTEST_H
#define AIO_CTEST_SIGTEST_H

#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* ------------------------------------------------------- /proc states */

/* State letter of a task ('R', 'S', 'D', 'T', ...) from `path` (a
 * /proc/.../stat file), or 0 if it cannot be read (the task is gone). */
CT_FN char stat_state(const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* the name is in parentheses and may itself hold ") " */
    char *p = strrchr(buf, ')');
    return (p && p[1] == ' ') ? p[2] : 0;
}

/* State of thread `tid` of this process. */
CT_FN char thread_state(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    return stat_state(path);
}

/* State of process `pid`. */
CT_FN char proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return stat_state(path);
}

/* Wait (polling, bounded by ms) until thread tid sleeps interruptibly,
 * i.e. it has entered the blocking call it was about to make.  Returns
 * 0 once it does, -1 if `*gone` became true first (the thread returned). */
CT_FN int wait_thread_sleeping(pid_t tid, const atomic_int *gone, long ms)
{
    long long deadline = now_ms() + ms;
    for (;;) {
        if (gone && atomic_load(gone))
            return -1;
        if (thread_state(tid) == 'S')
            return 0;
        if (now_ms() > deadline)
            die("thread %d did not block within %ld ms (state %c)", (int)tid,
                ms, thread_state(tid));
        pause_us(200);
    }
}

/* Same for another process. */
CT_FN void wait_proc_sleeping(pid_t pid, long ms)
{
    long long deadline = now_ms() + ms;
    while (proc_state(pid) != 'S') {
        if (now_ms() > deadline)
            die("process %d did not block within %ld ms (state %c)", (int)pid,
                ms, proc_state(pid));
        pause_us(200);
    }
}

/* pthread_join with a bound: returns 0 and the thread's value, or
 * ETIMEDOUT if it is still running after ms milliseconds. */
CT_FN int join_within(pthread_t t, long ms, void **ret)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(t, ret, &ts);
}

/* ------------------------------------------- a wait interrupted by a handler */

/* Starts fn(arg) in a thread, which stores its gettid() in *tid first and then sleeps (in
 * aio_suspend, say); once it sleeps, sends it sig. Returns the thread. */
CT_FN pthread_t start_then_signal(void *(*fn)(void *), void *arg, atomic_int *tid, int sig)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
    WAIT_UNTIL(atomic_load(tid) != 0, DONE_MS);
    wait_thread_sleeping(atomic_load(tid), NULL, DONE_MS);
    CHECK_EQ(pthread_kill(t, sig), 0);
    return t;
}

/* What a timed aio_suspend made in a signal handler returned (stored from the handler). */
struct timed_wait {
    atomic_int ret; /* 1: returned 0; -1: failed; 0: not yet */
    atomic_int err;
    atomic_llong ms;
};

/* aio_suspend(list, n) for at most ms milliseconds, its outcome stored in *w. Async-signal-safe
 * (errno kept). */
CT_FN void timed_suspend(const struct aiocb *const list[], int n, long ms, struct timed_wait *w)
{
    int saved = errno;
    struct timespec ts = ms_ts(ms);
    long long t0 = now_ms();
    int r = aio_suspend(list, n, &ts);
    atomic_store(&w->err, errno);
    atomic_store(&w->ms, now_ms() - t0);
    atomic_store(&w->ret, r == 0 ? 1 : -1);
    errno = saved;
}

/* Fails unless the wait *w, given ms milliseconds, returned 0 within half of them. */
CT_FN void check_timed_wait_quick(const struct timed_wait *w, long ms, const char *who)
{
    if (atomic_load(&w->ret) != 1)
        die("%s returned -1 errno %d (%s) after %lld ms", who, atomic_load(&w->err),
            strerror(atomic_load(&w->err)), (long long)atomic_load(&w->ms));
    if (atomic_load(&w->ms) > ms / 2)
        die("%s took %lld ms", who, (long long)atomic_load(&w->ms));
}

/* ------------------------------------------- a deferred cancel pending */

/*
 * run_with_pending_cancel(body) runs body() in a new thread whose own
 * deferred cancel is already pending (pthread_cancel(pthread_self())).
 * None of the AIO calls in body may act on it or abort the process:
 * body must return normally, and the thread is then cancelled at
 * pthread_testcancel.  The body must call no cancellation point of its
 * own (no waits, no printing): it submits, checks return values, and
 * leaves the waiting to the main thread after the join.
 */
typedef void (*pending_body)(void);

static atomic_int pc_stage;

static void *pc_thread(void *arg)
{
    pending_body body = (pending_body)arg;
    int old;
    if (pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old) != 0 ||
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old) != 0)
        abort();
    if (pthread_cancel(pthread_self()) != 0)
        abort();
    atomic_store(&pc_stage, 1);
    body();
    atomic_store(&pc_stage, 2);
    pthread_testcancel();
    atomic_store(&pc_stage, 3);
    return NULL;
}

CT_FN void run_with_pending_cancel(pending_body body)
{
    pthread_t t;
    void *ret = NULL;
    atomic_store(&pc_stage, 0);
    CHECK_EQ(pthread_create(&t, NULL, pc_thread, (void *)body), 0);
    int r = join_within(t, DONE_MS, &ret);
    if (r != 0)
        die("the thread with a pending cancel did not finish (%s)",
            strerror(r));
    switch (atomic_load(&pc_stage)) {
    case 1:
        die("an AIO call acted on the pending cancel: the thread was "
            "cancelled inside it");
    case 2:
        break;
    case 3:
        die("pthread_testcancel did not cancel the thread");
    default:
        die("the thread never started its body");
    }
    CHECK(ret == PTHREAD_CANCELED);
}

/* ------------------------------------------------- no spurious EINTR */

/*
 * One round: thread T submits a read (on a pipe, a socket, or an uncached
 * file), then blocks in a call of its own (sigtimedwait, sigwaitinfo,
 * epoll_wait, recv or accept with SO_RCVTIMEO).  While it is blocked the
 * main thread lets the read complete, waits (bounded) for the completion,
 * then wakes T the ordinary way (a signal T waits for, an event, data, a
 * connection).  T's call must return that ordinary result: no handler is
 * installed, so nothing may make it fail with EINTR.
 *
 * The file read completes by itself a moment after submission, which is
 * usually while T is blocked already; callers repeat those rounds.
 */
enum blocker { B_SIGTIMEDWAIT, B_SIGWAITINFO, B_EPOLL, B_RECV, B_ACCEPT };
enum source { S_PIPE, S_SOCKET, S_FILE };

#define WAKE_SIG SIGUSR2
#define FILE_BYTES (256 * 1024)

struct eintr_round {
    enum blocker b;
    enum source s;
    /* the source */
    int src[2];
    struct aiocb cb;
    char *buf;
    /* the blocker */
    int bfd[2];
    /* what T saw */
    pid_t tid;
    atomic_int armed, gone;
    long result;
    int err;
    long long blocked_ms;
};

CT_FN const char *blocker_name(enum blocker b)
{
    static const char *n[] = { "sigtimedwait", "sigwaitinfo", "epoll_wait",
                               "recv (SO_RCVTIMEO)", "accept (SO_RCVTIMEO)" };
    return n[b];
}

CT_FN const char *source_name(enum source s)
{
    static const char *n[] = { "a pipe", "a socketpair", "an uncached file" };
    return n[s];
}

CT_FN void set_rcvtimeo(int fd, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    SYS(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
}

CT_FN void eintr_setup(struct eintr_round *r)
{
    switch (r->s) {
    case S_PIPE:
        make_pipe(r->src);
        r->buf = malloc(16);
        cb_init(&r->cb, r->src[0], r->buf, 16, 0);
        break;
    case S_SOCKET:
        SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, r->src));
        r->buf = malloc(16);
        cb_init(&r->cb, r->src[0], r->buf, 16, 0);
        break;
    case S_FILE: {
        r->src[0] = tmp_pattern_file(FILE_BYTES, 31);
        r->src[1] = -1;
        SYS(fdatasync(r->src[0]));
        int e = posix_fadvise(r->src[0], 0, 0, POSIX_FADV_DONTNEED);
        if (e != 0)
            die("posix_fadvise DONTNEED: %s", strerror(e));
        r->buf = malloc(FILE_BYTES);
        cb_init(&r->cb, r->src[0], r->buf, FILE_BYTES, 0);
        break;
    }
    }
    if (!r->buf)
        die("malloc");
    switch (r->b) {
    case B_SIGTIMEDWAIT:
    case B_SIGWAITINFO:
        break;
    case B_EPOLL: {
        int ev = SYS(eventfd(0, EFD_CLOEXEC));
        int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
        struct epoll_event e = { .events = EPOLLIN };
        SYS(epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
        r->bfd[0] = ep;
        r->bfd[1] = ev;
        break;
    }
    case B_RECV:
        SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, r->bfd));
        set_rcvtimeo(r->bfd[0], 8000);
        break;
    case B_ACCEPT: {
        int ls = SYS(socket(AF_INET, SOCK_STREAM, 0));
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
        SYS(bind(ls, (struct sockaddr *)&a, sizeof a));
        SYS(listen(ls, 4));
        set_rcvtimeo(ls, 8000);
        r->bfd[0] = ls;
        r->bfd[1] = -1;
        break;
    }
    }
}

static void *eintr_thread(void *arg)
{
    struct eintr_round *r = arg;
    r->tid = gettid();
    if (aio_read(&r->cb) != 0) {
        r->result = -2;
        r->err = errno;
        atomic_store(&r->gone, 1);
        return NULL;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, WAKE_SIG);
    long long t0 = now_ms();
    atomic_store(&r->armed, 1);
    long res = -1;
    errno = 0;
    switch (r->b) {
    case B_SIGTIMEDWAIT: {
        struct timespec ts = ms_ts(8000);
        res = sigtimedwait(&set, NULL, &ts);
        break;
    }
    case B_SIGWAITINFO:
        res = sigwaitinfo(&set, NULL);
        break;
    case B_EPOLL: {
        struct epoll_event e;
        res = epoll_wait(r->bfd[0], &e, 1, 8000);
        break;
    }
    case B_RECV: {
        char c;
        res = recv(r->bfd[0], &c, 1, 0);
        break;
    }
    case B_ACCEPT:
        res = accept(r->bfd[0], NULL, NULL);
        break;
    }
    r->err = errno;
    r->result = res;
    r->blocked_ms = now_ms() - t0;
    atomic_store(&r->gone, 1);
    return NULL;
}

/* The ordinary wake-up of T's call. */
CT_FN void eintr_wake(struct eintr_round *r, pthread_t t)
{
    switch (r->b) {
    case B_SIGTIMEDWAIT:
    case B_SIGWAITINFO:
        pthread_kill(t, WAKE_SIG);
        break;
    case B_EPOLL: {
        uint64_t one = 1;
        write_all(r->bfd[1], &one, sizeof one);
        break;
    }
    case B_RECV:
        write_all(r->bfd[1], "w", 1);
        break;
    case B_ACCEPT: {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        SYS(getsockname(r->bfd[0], (struct sockaddr *)&a, &len));
        r->bfd[1] = SYS(socket(AF_INET, SOCK_STREAM, 0));
        SYS(connect(r->bfd[1], (struct sockaddr *)&a, sizeof a));
        break;
    }
    }
}

CT_FN int eintr_result_ok(const struct eintr_round *r)
{
    switch (r->b) {
    case B_SIGTIMEDWAIT:
    case B_SIGWAITINFO:
        return r->result == WAKE_SIG;
    case B_EPOLL:
    case B_RECV:
        return r->result == 1;
    case B_ACCEPT:
        return r->result >= 0;
    }
    return 0;
}

/* One round; fails the test if T's call did not return its ordinary
 * result.  Returns 1 if T was seen blocked before the read completed. */
CT_FN int eintr_round(enum blocker b, enum source s)
{
    struct eintr_round *r = calloc(1, sizeof *r);
    if (!r)
        die("calloc");
    r->b = b;
    r->s = s;
    eintr_setup(r);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, eintr_thread, r), 0);
    WAIT_UNTIL(atomic_load(&r->armed) || atomic_load(&r->gone), DONE_MS);
    if (r->result == -2)
        die("%s, read on %s: aio_read failed: %s", blocker_name(b), source_name(s),
            strerror(r->err));
    int blocked_first = wait_thread_sleeping(r->tid, &r->gone, DONE_MS) == 0;
    if (blocked_first)
        blocked_first = aio_error(&r->cb) == EINPROGRESS;
    /* Let the read complete. */
    if (s != S_FILE)
        write_all(r->src[1], "data", 4);
    /* Wait for the completion while T stays blocked (an implementation
     * may also finish it only once T returns: then wait no more than 1 s). */
    long long deadline = now_ms() + 1000;
    while (aio_error(&r->cb) == EINPROGRESS && !atomic_load(&r->gone) &&
           now_ms() < deadline)
        pause_us(200);
    eintr_wake(r, t);
    void *ret;
    if (join_within(t, DONE_MS, &ret) != 0)
        die("%s, read on %s: the blocked thread did not wake", blocker_name(b),
            source_name(s));
    if (!eintr_result_ok(r))
        die("%s while a read on %s completed: returned %ld with errno %d "
            "(%s) after %lld ms; no signal handler is installed",
            blocker_name(b), source_name(s), r->result, r->err,
            strerror(r->err), r->blocked_ms);
    /* The read itself is fine. */
    wait_done(&r->cb);
    if (s == S_FILE) {
        CHECK_DONE_OK(&r->cb, FILE_BYTES);
        CHECK_PAT(r->buf, FILE_BYTES, 0, 31);
    } else {
        CHECK_DONE_OK(&r->cb, 4);
        CHECK(memcmp(r->buf, "data", 4) == 0);
    }
    if (b == B_SIGTIMEDWAIT || b == B_SIGWAITINFO) {
        /* a wake signal sent after T returned early would still be pending */
    } else if (b == B_ACCEPT) {
        close((int)r->result);
    }
    close(r->src[0]);
    if (r->src[1] >= 0)
        close(r->src[1]);
    if (b != B_SIGTIMEDWAIT && b != B_SIGWAITINFO) {
        close(r->bfd[0]);
        if (r->bfd[1] >= 0)
            close(r->bfd[1]);
    }
    free(r->buf);
    free(r);
    return blocked_first;
}

/* All sources for one blocker: pipe and socket once each (T is always
 * blocked before they complete), the uncached file for several rounds.
 * WAKE_SIG is blocked in every thread so it only reaches sigwait calls. */
CT_FN void eintr_all_sources(enum blocker b)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, WAKE_SIG);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    for (int i = 0; i < 2; i++) {
        eintr_round(b, S_PIPE);
        eintr_round(b, S_SOCKET);
    }
    int blocked = 0;
    for (int i = 0; i < 10; i++)
        blocked += eintr_round(b, S_FILE);
    printf("%s: %d of 10 uncached file reads completed while the thread "
           "was blocked\n", blocker_name(b), blocked);
}

#endif
