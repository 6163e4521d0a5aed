/*
 * aiobench: the measuring process of the aio-rs benchmark.
 *
 * One invocation measures one (engine, workload) cell and prints one line
 * "result key=value ..." on stdout.  The orchestrator (bench/src/main.rs)
 * runs it many times, interleaved, and aggregates.
 *
 *   aiobench info [--dir D]
 *   aiobench prep --dir D --data-size N --cached-size N --write-size N
 *                 --nfiles N --file-size N
 *   aiobench run  --dir D --engine E --workload W [--depth N] [--threads N]
 *                 [--warmup S] [--seconds S] [--timeout S]
 *
 * Engines (one table, one loop):
 *   posix  the aio_* functions this process resolves: glibc's, or aio-rs's
 *          when the orchestrator sets LD_PRELOAD=libaio_rs.so
 *   uring  raw io_uring through liburing
 *   kaio   raw kernel AIO (io_setup/io_submit/io_getevents syscalls)
 *   sync   pread/pwrite/fsync, one at a time
 *
 * Workloads: randread (O_DIRECT 4 KiB), cached (page-cached 4 KiB), write
 * (O_DIRECT 4 KiB, fsync after every 32 writes), lio (batches of `depth`
 * reads, LIO_WAIT for posix), manyfd (O_DIRECT reads over many files), pipe
 * (ping-pong of a small message over two pipes between two threads).
 *
 * Build: cc -O2 -o aiobench aiobench.c -lrt -luring -pthread
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <liburing.h>
#include <linux/aio_abi.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096
#define MAXTHREADS 8
#define REAP_TIMEOUT_S 10 /* any single wait longer than this is a failure */
#define MSG_LEN 64        /* pipe ping-pong message size */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aiobench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static uint64_t cpu_ns(void) /* all threads of the process, exact */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) /* xorshift64* */
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void *xalign(size_t n)
{
    void *p;
    if (posix_memalign(&p, BLK, n))
        die("out of memory");
    memset(p, 0x5a, n);
    return p;
}

/* ------------------------------------------------------------------ */
/* Latency histogram: 64 linear sub-buckets per power of two (~1.6%).  */

#define SUBB 6
#define NBUCKETS (64 * (64 - SUBB + 1))

static int bucket_of(uint64_t v)
{
    if (v < (1u << SUBB))
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    return (msb - SUBB + 1) * (1 << SUBB) + (int)((v >> (msb - SUBB)) & ((1u << SUBB) - 1));
}

static uint64_t bucket_mid(int i)
{
    if (i < (1 << SUBB))
        return (uint64_t)i;
    int e = i >> SUBB, m = i & ((1 << SUBB) - 1);
    uint64_t lo = (uint64_t)((1 << SUBB) + m) << (e - 1);
    return lo + ((1ull << (e - 1)) >> 1);
}

static uint64_t hist_quantile(const uint64_t *h, uint64_t total, double q)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.999999), acc = 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i < NBUCKETS; i++) {
        acc += h[i];
        if (acc >= want)
            return bucket_mid(i);
    }
    return bucket_mid(NBUCKETS - 1);
}

/* ------------------------------------------------------------------ */
/* Requests and the engine table.                                      */

enum { OP_READ, OP_WRITE, OP_FSYNC };

struct req {
    int op, fd;
    void *buf;
    size_t len;
    off_t off; /* < 0: stream (pipe), no offset */
    long res;  /* bytes, or -errno */
    uint64_t t_sub;
    struct aiocb cb;  /* posix engine */
    struct iocb kcb;  /* kaio engine */
};

#define ENG_SYNC 1u            /* completes inside submit: depth is 1 */
#define ENG_FSYNC_UNORDERED 2u /* fsync does not wait for earlier writes: drain first */

struct engine {
    const char *name;
    unsigned flags;
    void *(*init)(int depth);
    /* Queue n requests; returns how many were accepted (>= 0) or -errno.
     * wait_all: the caller will wait for all of them next (lio batches). */
    int (*submit)(void *ctx, struct req **v, int n, int wait_all);
    /* Wait (bounded) until at least `min` (>= 1) requests are done; store up
     * to max of them in out.  Returns the count or -errno. */
    int (*reap)(void *ctx, struct req **out, int min, int max);
    void (*fini)(void *ctx);
};

static const struct timespec reap_ts = {REAP_TIMEOUT_S, 0};

/* --- posix: aio_read/aio_write/aio_fsync/lio_listio + aio_suspend -------- */

struct posix_ctx {
    int n, cap;
    const struct aiocb **list; /* in-flight list handed to aio_suspend */
    struct req **reqs;         /* parallel to list */
};

static void *posix_init(int depth)
{
    struct posix_ctx *c = calloc(1, sizeof *c);
    c->cap = depth;
    c->list = calloc((size_t)depth, sizeof *c->list);
    c->reqs = calloc((size_t)depth, sizeof *c->reqs);
    return c;
}

static void posix_prep(struct req *r)
{
    memset(&r->cb, 0, sizeof r->cb);
    r->cb.aio_fildes = r->fd;
    r->cb.aio_buf = r->buf;
    r->cb.aio_nbytes = r->len;
    r->cb.aio_offset = r->off < 0 ? 0 : r->off;
    r->cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    r->cb.aio_lio_opcode = r->op == OP_READ ? LIO_READ : LIO_WRITE;
}

static void posix_track(struct posix_ctx *c, struct req *r)
{
    c->list[c->n] = &r->cb;
    c->reqs[c->n++] = r;
}

static int posix_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct posix_ctx *c = vc;
    if (wait_all && n > 1) {
        struct aiocb *l[n];
        for (int i = 0; i < n; i++) {
            posix_prep(v[i]);
            l[i] = &v[i]->cb;
        }
        /* EIO: some request failed; each one's status is in aio_error. */
        if (lio_listio(LIO_WAIT, l, n, NULL) < 0 && errno != EIO)
            return -errno;
        for (int i = 0; i < n; i++)
            posix_track(c, v[i]);
        return n;
    }
    for (int i = 0; i < n; i++) {
        struct req *r = v[i];
        int rc;
        posix_prep(r);
        if (r->op == OP_READ)
            rc = aio_read(&r->cb);
        else if (r->op == OP_WRITE)
            rc = aio_write(&r->cb);
        else
            rc = aio_fsync(O_SYNC, &r->cb);
        if (rc < 0)
            return errno == EAGAIN ? i : -errno;
        posix_track(c, r);
    }
    return n;
}

static int posix_reap(void *vc, struct req **out, int min, int max)
{
    struct posix_ctx *c = vc;
    (void)min;
    for (;;) {
        if (!c->n)
            return -EINVAL;
        int k = 0;
        for (int i = 0; i < c->n && k < max; i++) {
            int e = aio_error(c->list[i]);
            if (e == EINPROGRESS)
                continue;
            struct req *r = c->reqs[i];
            ssize_t rv = aio_return((struct aiocb *)c->list[i]);
            r->res = rv < 0 ? -(long)e : (long)rv;
            out[k++] = r;
            c->n--;
            c->list[i] = c->list[c->n];
            c->reqs[i] = c->reqs[c->n];
            i--;
        }
        if (k)
            return k;
        if (aio_suspend(c->list, c->n, &reap_ts) < 0 && errno != EINTR)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
}

static void posix_fini(void *vc)
{
    struct posix_ctx *c = vc;
    free(c->list);
    free(c->reqs);
    free(c);
}

/* --- uring: raw io_uring via liburing ----------------------------------- */

static void *uring_init(int depth)
{
    struct io_uring *ring = calloc(1, sizeof *ring);
    unsigned entries = 8;
    while (entries < (unsigned)depth)
        entries <<= 1;
    int rc = io_uring_queue_init(entries, ring, 0);
    if (rc < 0) {
        errno = -rc;
        free(ring);
        return NULL;
    }
    return ring;
}

/* Only fills SQEs: uring_reap submits them and waits in the same io_uring_enter,
 * the cheapest way to drive a ring without SQPOLL. */
static int uring_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct io_uring *ring = vc;
    int k = 0;
    (void)wait_all;
    for (; k < n; k++) {
        struct req *r = v[k];
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        if (!sqe)
            break;
        __u64 off = r->off < 0 ? (__u64)-1 : (__u64)r->off;
        if (r->op == OP_READ)
            io_uring_prep_read(sqe, r->fd, r->buf, (unsigned)r->len, off);
        else if (r->op == OP_WRITE)
            io_uring_prep_write(sqe, r->fd, r->buf, (unsigned)r->len, off);
        else {
            io_uring_prep_fsync(sqe, r->fd, 0);
            sqe->flags |= IOSQE_IO_DRAIN; /* barrier: after the earlier writes */
        }
        io_uring_sqe_set_data(sqe, r);
    }
    return k;
}

static int uring_reap(void *vc, struct req **out, int min, int max)
{
    struct io_uring *ring = vc;
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {REAP_TIMEOUT_S, 0};
    int rc;
    do
        rc = io_uring_submit_and_wait_timeout(ring, &cqe, (unsigned)min, &ts, NULL);
    while (rc == -EINTR);
    if (rc < 0)
        return rc == -ETIME ? -ETIMEDOUT : rc;
    unsigned head;
    int k = 0;
    io_uring_for_each_cqe(ring, head, cqe)
    {
        if (k == max)
            break;
        struct req *r = io_uring_cqe_get_data(cqe);
        r->res = cqe->res;
        out[k++] = r;
    }
    io_uring_cq_advance(ring, (unsigned)k);
    return k;
}

static void uring_fini(void *vc)
{
    io_uring_queue_exit(vc);
    free(vc);
}

/* --- kaio: raw kernel AIO syscalls -------------------------------------- */

struct kaio_ctx {
    aio_context_t id;
    int depth;
    struct io_event *ev;
};

static void *kaio_init(int depth)
{
    struct kaio_ctx *c = calloc(1, sizeof *c);
    c->depth = depth;
    c->ev = calloc((size_t)depth, sizeof *c->ev);
    if (syscall(SYS_io_setup, depth, &c->id) < 0) {
        int e = errno;
        free(c->ev);
        free(c);
        errno = e;
        return NULL;
    }
    return c;
}

static int kaio_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct kaio_ctx *c = vc;
    struct iocb *p[n];
    (void)wait_all;
    for (int i = 0; i < n; i++) {
        struct req *r = v[i];
        struct iocb *cb = &r->kcb;
        memset(cb, 0, sizeof *cb);
        cb->aio_data = (__u64)(uintptr_t)r;
        cb->aio_fildes = (__u32)r->fd;
        cb->aio_lio_opcode = r->op == OP_READ    ? IOCB_CMD_PREAD
                             : r->op == OP_WRITE ? IOCB_CMD_PWRITE
                                                 : IOCB_CMD_FSYNC;
        if (r->op != OP_FSYNC) { /* the kernel wants buf, offset and size 0 for fsync */
            cb->aio_buf = (__u64)(uintptr_t)r->buf;
            cb->aio_nbytes = r->len;
            cb->aio_offset = r->off < 0 ? 0 : r->off;
        }
        p[i] = cb;
    }
    long rc = syscall(SYS_io_submit, c->id, (long)n, p);
    if (rc < 0)
        return errno == EAGAIN ? 0 : -errno;
    return (int)rc;
}

static int kaio_reap(void *vc, struct req **out, int min, int max)
{
    struct kaio_ctx *c = vc;
    struct timespec ts = reap_ts;
    if (max > c->depth)
        max = c->depth;
    if (min > max)
        min = max;
    long rc;
    do
        rc = syscall(SYS_io_getevents, c->id, (long)min, (long)max, c->ev, &ts);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return -ETIMEDOUT;
    for (long i = 0; i < rc; i++) {
        struct req *r = (struct req *)(uintptr_t)c->ev[i].data;
        r->res = (long)c->ev[i].res;
        out[i] = r;
    }
    return (int)rc;
}

static void kaio_fini(void *vc)
{
    struct kaio_ctx *c = vc;
    syscall(SYS_io_destroy, c->id);
    free(c->ev);
    free(c);
}

/* --- sync: pread/pwrite/fsync (read/write on pipes) ---------------------- */

struct sync_ctx {
    int n;
    struct req *done[1];
};

static void *sync_init(int depth)
{
    (void)depth;
    return calloc(1, sizeof(struct sync_ctx));
}

static int sync_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct sync_ctx *c = vc;
    (void)wait_all;
    if (n > 1 || c->n)
        n = 1; /* one at a time: the caller reaps before the next */
    struct req *r = v[0];
    ssize_t rv;
    if (r->op == OP_FSYNC)
        rv = fsync(r->fd);
    else if (r->op == OP_READ)
        rv = r->off < 0 ? read(r->fd, r->buf, r->len) : pread(r->fd, r->buf, r->len, r->off);
    else
        rv = r->off < 0 ? write(r->fd, r->buf, r->len) : pwrite(r->fd, r->buf, r->len, r->off);
    r->res = rv < 0 ? -errno : (long)rv;
    c->done[c->n++] = r;
    return n;
}

static int sync_reap(void *vc, struct req **out, int min, int max)
{
    struct sync_ctx *c = vc;
    (void)min;
    (void)max;
    if (!c->n)
        return -EINVAL;
    out[0] = c->done[0];
    c->n = 0;
    return 1;
}

static const struct engine engines[] = {
    {"posix", 0, posix_init, posix_submit, posix_reap, posix_fini},
    {"uring", 0, uring_init, uring_submit, uring_reap, uring_fini},
    {"kaio", ENG_FSYNC_UNORDERED, kaio_init, kaio_submit, kaio_reap, kaio_fini},
    {"sync", ENG_SYNC, sync_init, sync_submit, sync_reap, free},
};

/* ------------------------------------------------------------------ */
/* Syscall counting: a perf tracepoint counter on raw_syscalls:sys_enter
 * for every thread that exists now (the preloaded library may have
 * started some), inherited by every thread created later.  Needs
 * perf_event_paranoid / CAP_PERFMON and a readable tracefs; otherwise
 * the count is reported as -1 ("n/a").                                 */

static int sc_fd[256], sc_n = -1;

static long tracepoint_id(void)
{
    static const char *paths[] = {"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
                                  "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        FILE *f = fopen(paths[i], "r");
        long id;
        if (!f)
            continue;
        int ok = fscanf(f, "%ld", &id) == 1;
        fclose(f);
        if (ok)
            return id;
    }
    return -1;
}

static void sc_open(void)
{
    long id = tracepoint_id();
    if (id < 0)
        return;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *de;
    sc_n = 0;
    while ((de = readdir(d)) && sc_n >= 0) {
        if (de->d_name[0] == '.')
            continue;
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_TRACEPOINT;
        a.config = (__u64)id;
        a.disabled = 1;
        a.inherit = 1;
        int fd = (int)syscall(SYS_perf_event_open, &a, atoi(de->d_name), -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0 || sc_n == (int)(sizeof sc_fd / sizeof *sc_fd)) {
            while (sc_n > 0)
                close(sc_fd[--sc_n]);
            sc_n = -1;
            if (fd >= 0)
                close(fd);
            break;
        }
        sc_fd[sc_n++] = fd;
    }
    closedir(d);
}

static void sc_ctl(unsigned long cmd)
{
    for (int i = 0; i < sc_n; i++)
        ioctl(sc_fd[i], cmd, 0);
}

static long long sc_read(void)
{
    if (sc_n < 0)
        return -1;
    long long sum = 0;
    for (int i = 0; i < sc_n; i++) {
        uint64_t v;
        if (read(sc_fd[i], &v, sizeof v) != sizeof v)
            return -1;
        sum += (long long)v;
    }
    return sum;
}

/* ------------------------------------------------------------------ */
/* Workloads.                                                          */

enum { PH_WARMUP, PH_MEASURE, PH_STOP };
static _Atomic int phase = PH_WARMUP;

struct wl {
    const char *name;
    int open_direct;  /* wants O_DIRECT */
    int op;           /* OP_READ or OP_WRITE */
    int fsync_every;  /* write workload: an fsync after every N writes */
    int batch;        /* lio: submit `depth` at once, wait for all */
    int many;         /* spread over many files */
    int pipe;         /* ping-pong */
    const char *file; /* file in --dir */
};

static const struct wl workloads[] = {
    {"randread", 1, OP_READ, 0, 0, 0, 0, "data.bin"},
    {"cached", 0, OP_READ, 0, 0, 0, 0, "cached.bin"},
    {"write", 1, OP_WRITE, 32, 0, 0, 0, "write.bin"},
    {"lio", 1, OP_READ, 0, 1, 0, 0, "data.bin"},
    {"manyfd", 1, OP_READ, 0, 0, 1, 0, NULL},
    {"pipe", 0, OP_READ, 0, 0, 0, 1, NULL},
};

struct shared {
    const struct engine *eng;
    const struct wl *wl;
    int depth;
    int nfd;
    int *fds;
    off_t *blocks; /* 4 KiB blocks per fd */
    int pfd[4];    /* pipe: ping->pong read/write, pong->ping read/write */
    pthread_barrier_t ready;
};

struct thr {
    struct shared *sh;
    int idx;
    pthread_t tid;
    uint64_t seed;
    uint64_t ops, errors;
    long first_err;
    const char *fail; /* engine-level failure */
    int fail_errno;
    uint64_t hist[NBUCKETS];
};

static void note_done(struct thr *t, struct req *r, uint64_t now)
{
    int counted = atomic_load_explicit(&phase, memory_order_relaxed) == PH_MEASURE;
    if (r->op == OP_FSYNC ? r->res != 0 : r->res != (long)r->len) {
        t->errors++;
        if (!t->first_err)
            t->first_err = r->res < 0 ? r->res : -EIO;
    }
    if (counted && r->op != OP_FSYNC) {
        t->ops++;
        t->hist[bucket_of(now - r->t_sub)]++;
    }
}

static void thread_fail(struct thr *t, const char *what, int err)
{
    if (!t->fail) {
        t->fail = what;
        t->fail_errno = err;
    }
}

/* The one submit/reap loop: keep `depth` requests in flight (or, for lio,
 * submit `depth` at once and wait for all), resubmit on completion. */
static void run_window(struct thr *t, void *ctx)
{
    const struct engine *e = t->sh->eng;
    const struct wl *w = t->sh->wl;
    int depth = t->sh->depth;
    struct req *pool = calloc((size_t)depth, sizeof *pool);
    struct req **freel = calloc((size_t)depth, sizeof *freel);
    struct req **pend = calloc((size_t)depth, sizeof *pend);
    struct req **done = calloc((size_t)depth, sizeof *done);
    int nfree = depth, npend = 0, inflight = 0, since_fsync = 0;
    for (int i = 0; i < depth; i++) {
        pool[i].buf = xalign(BLK);
        freel[i] = &pool[i];
    }

    for (;;) {
        int stopping = atomic_load_explicit(&phase, memory_order_relaxed) == PH_STOP;
        if (stopping && !inflight)
            break;
        /* Refill. */
        if (!stopping && (!w->batch || !inflight)) {
            while (nfree) {
                int op = w->op;
                if (w->fsync_every && since_fsync == w->fsync_every) {
                    if ((e->flags & ENG_FSYNC_UNORDERED) && inflight + npend)
                        break; /* barrier by hand: let the writes finish */
                    op = OP_FSYNC;
                }
                struct req *r = freel[--nfree];
                int f = w->many ? (int)(rng_next(&t->seed) % (uint64_t)t->sh->nfd) : 0;
                r->op = op;
                r->fd = t->sh->fds[f];
                r->len = BLK;
                r->off = (off_t)(rng_next(&t->seed) % (uint64_t)t->sh->blocks[f]) * BLK;
                since_fsync = op == OP_FSYNC ? 0 : since_fsync + 1;
                pend[npend++] = r;
            }
        }
        if (npend) {
            uint64_t ts = now_ns();
            for (int i = 0; i < npend; i++)
                pend[i]->t_sub = ts;
            int n = e->submit(ctx, pend, npend, w->batch);
            if (n < 0) {
                thread_fail(t, "submit", -n);
                break;
            }
            if (n == 0 && !inflight) {
                thread_fail(t, "submit made no progress", EAGAIN);
                break;
            }
            inflight += n;
            npend -= n;
            memmove(pend, pend + n, (size_t)npend * sizeof *pend);
        }
        /* Reap: for a batch, everything; otherwise at least one. */
        do {
            int n = e->reap(ctx, done, w->batch ? inflight : 1, depth);
            if (n < 0) {
                thread_fail(t, "reap", -n);
                goto out;
            }
            uint64_t now = now_ns();
            for (int i = 0; i < n; i++) {
                note_done(t, done[i], now);
                freel[nfree++] = done[i];
            }
            inflight -= n;
        } while (w->batch && inflight);
    }
out:
    if (inflight)
        thread_fail(t, "requests left in flight", EIO); /* pool leaked on purpose */
    else {
        for (int i = 0; i < depth; i++)
            free(pool[i].buf);
        free(pool);
    }
    free(freel);
    free(pend);
    free(done);
}

/* Submit one request and wait for it. */
static int one(const struct engine *e, void *ctx, struct req *r)
{
    struct req *d;
    int n = e->submit(ctx, &r, 1, 0);
    if (n != 1)
        return n < 0 ? n : -EAGAIN;
    n = e->reap(ctx, &d, 1, 1);
    return n < 0 ? n : 0;
}

/* Pipe ping-pong: thread 0 writes a message to pipe A and reads the echo
 * from pipe B; thread 1 echoes.  One op = one round trip. */
static void run_pingpong(struct thr *t, void *ctx)
{
    const struct engine *e = t->sh->eng;
    int ping = t->idx == 0;
    struct req r = {0};
    char *buf = xalign(BLK);
    r.buf = buf;
    r.len = MSG_LEN;
    r.off = -1;
    for (;;) {
        int stop = 0;
        uint64_t t0 = now_ns();
        for (int step = 0; step < 2; step++) {
            int writing = ping ? step == 0 : step == 1;
            r.op = writing ? OP_WRITE : OP_READ;
            r.fd = t->sh->pfd[ping ? (writing ? 1 : 2) : (writing ? 3 : 0)];
            if (ping && writing) {
                stop = atomic_load_explicit(&phase, memory_order_relaxed) == PH_STOP;
                buf[0] = (char)stop; /* tells the echo side to quit after this one */
            }
            int rc = one(e, ctx, &r);
            if (rc < 0) {
                thread_fail(t, writing ? "pipe write" : "pipe read", -rc);
                goto out;
            }
            if (r.res != MSG_LEN) {
                thread_fail(t, "short pipe transfer", r.res < 0 ? (int)-r.res : EIO);
                goto out;
            }
            if (!ping && !writing)
                stop = buf[0];
        }
        if (ping) {
            r.t_sub = t0;
            note_done(t, &r, now_ns());
        }
        if (stop)
            break;
    }
out:
    free(buf);
}

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    struct shared *sh = t->sh;
    void *ctx = sh->eng->init(sh->wl->pipe ? 1 : sh->depth);
    if (!ctx)
        thread_fail(t, "engine init", errno);
    pthread_barrier_wait(&sh->ready);
    if (!ctx)
        return NULL;
    if (sh->wl->pipe)
        run_pingpong(t, ctx);
    else
        run_window(t, ctx);
    if (!t->fail)
        sh->eng->fini(ctx);
    return NULL;
}

/* Open a data file, O_DIRECT if wanted and the file system allows it
 * (EINVAL at open or at the first aligned read: buffered instead). */
static int open_data(const char *path, int flags, int *direct)
{
    if (*direct) {
        int fd = open(path, flags | O_DIRECT);
        if (fd >= 0) {
            void *b = xalign(BLK);
            ssize_t n = pread(fd, b, BLK, 0);
            free(b);
            if (n >= 0 || errno != EINVAL)
                return fd;
            close(fd);
        } else if (errno != EINVAL)
            die("open %s: %s", path, strerror(errno));
        *direct = 0;
    }
    int fd = open(path, flags);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    return fd;
}

static void warm_cache(int fd, off_t size)
{
    char *b = xalign(1 << 20);
    for (off_t o = 0; o < size; o += 1 << 20)
        if (pread(fd, b, 1 << 20, o) < 0)
            die("warming the cache: %s", strerror(errno));
    free(b);
}

static void raise_nofile(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static const char *aio_rs_version(void)
{
    const char *(*fn)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "aio_rs_version");
    return fn ? fn() : "none";
}

static double tv_us(struct timeval a, struct timeval b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_usec - a.tv_usec);
}

struct opts {
    const char *dir, *engine, *workload;
    int depth, threads;
    double warmup, seconds;
    int timeout;
    long long data_size, cached_size, write_size, file_size;
    int nfiles;
};

static int cmd_run(const struct opts *o)
{
    static struct shared sh;
    const struct engine *eng = NULL;
    for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
        if (!strcmp(engines[i].name, o->engine))
            eng = &engines[i];
    const struct wl *w = NULL;
    for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
        if (!strcmp(workloads[i].name, o->workload))
            w = &workloads[i];
    if (!eng || !w)
        die("unknown engine or workload");
    if (o->timeout > 0)
        alarm((unsigned)o->timeout); /* a hang must fail, not stall */

    sc_open(); /* before any thread of ours exists */

    int depth = (eng->flags & ENG_SYNC) ? 1 : o->depth;
    int nthreads = w->pipe ? 2 : o->threads;
    if (depth < 1 || nthreads < 1 || nthreads > MAXTHREADS)
        die("bad depth or threads");
    int direct = w->open_direct;
    sh.eng = eng;
    sh.wl = w;
    sh.depth = depth;

    char path[4096];
    if (w->pipe) {
        if (pipe(sh.pfd) || pipe(sh.pfd + 2))
            die("pipe: %s", strerror(errno));
    } else {
        sh.nfd = w->many ? o->nfiles : 1;
        raise_nofile(sh.nfd + 64);
        sh.fds = calloc((size_t)sh.nfd, sizeof *sh.fds);
        sh.blocks = calloc((size_t)sh.nfd, sizeof *sh.blocks);
        for (int i = 0; i < sh.nfd; i++) {
            if (w->many)
                snprintf(path, sizeof path, "%s/files/f%04d", o->dir, i);
            else
                snprintf(path, sizeof path, "%s/%s", o->dir, w->file);
            sh.fds[i] = open_data(path, w->op == OP_WRITE ? O_RDWR : O_RDONLY, &direct);
            struct stat st;
            if (fstat(sh.fds[i], &st) || st.st_size < BLK)
                die("%s: missing or too small (run prep first)", path);
            sh.blocks[i] = st.st_size / BLK;
            if (!w->open_direct)
                warm_cache(sh.fds[i], st.st_size);
        }
    }

    struct thr *th = calloc((size_t)nthreads, sizeof *th);
    pthread_barrier_init(&sh.ready, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        th[i].sh = &sh;
        th[i].idx = i;
        th[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)getpid() << 20;
        if (pthread_create(&th[i].tid, NULL, thread_main, &th[i]))
            die("pthread_create: %s", strerror(errno));
    }
    pthread_barrier_wait(&sh.ready);

    sleep_s(o->warmup);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t c0 = cpu_ns();
    sc_ctl(PERF_EVENT_IOC_ENABLE);
    uint64_t t0 = now_ns();
    atomic_store(&phase, PH_MEASURE);
    sleep_s(o->seconds);
    atomic_store(&phase, PH_STOP);
    uint64_t t1 = now_ns();
    sc_ctl(PERF_EVENT_IOC_DISABLE);
    uint64_t c1 = cpu_ns();
    getrusage(RUSAGE_SELF, &ru1);
    long long sys_calls = sc_read();

    static uint64_t hist[NBUCKETS];
    uint64_t ops = 0, errors = 0;
    long first_err = 0;
    const char *fail = NULL;
    int fail_errno = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i].tid, NULL);
        ops += th[i].ops;
        errors += th[i].errors;
        if (!first_err)
            first_err = th[i].first_err;
        if (th[i].fail && !fail) {
            fail = th[i].fail;
            fail_errno = th[i].fail_errno;
        }
        for (int b = 0; b < NBUCKETS; b++)
            hist[b] += th[i].hist[b];
    }
    if (fail) {
        fprintf(stderr, "aiobench: %s/%s: %s failed: %s\n", o->engine, o->workload, fail,
                strerror(fail_errno));
        return 3;
    }
    if (errors) {
        fprintf(stderr, "aiobench: %s/%s: %llu requests failed or were short, first: %s\n",
                o->engine, o->workload, (unsigned long long)errors, strerror((int)-first_err));
        return 3;
    }
    double secs = (double)(t1 - t0) / 1e9;
    printf("result engine=%s workload=%s depth=%d threads=%d direct=%d ops=%llu secs=%.6f "
           "iops=%.1f p50_ns=%llu p99_ns=%llu utime_us=%.0f stime_us=%.0f cpu_us=%.0f syscalls=%lld "
           "aio_rs=%s\n",
           o->engine, o->workload, depth, nthreads, direct, (unsigned long long)ops, secs,
           (double)ops / secs, (unsigned long long)hist_quantile(hist, ops, 0.50),
           (unsigned long long)hist_quantile(hist, ops, 0.99),
           tv_us(ru0.ru_utime, ru1.ru_utime), tv_us(ru0.ru_stime, ru1.ru_stime), (double)(c1 - c0) / 1e3, sys_calls,
           aio_rs_version());
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ */
/* prep: make the data files.                                          */

static int write_file(const char *path, long long size, int try_direct, uint64_t *seed)
{
    int direct = try_direct;
    int fd = -1;
    if (direct) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
        if (fd < 0 && errno == EINVAL)
            direct = 0;
    }
    if (fd < 0)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("create %s: %s", path, strerror(errno));
    size_t chunk = 1 << 20;
    uint64_t *b = xalign(chunk);
    for (long long o = 0; o < size; o += (long long)chunk) {
        size_t n = size - o < (long long)chunk ? (size_t)(size - o) : chunk;
        for (size_t i = 0; i < n / 8; i++)
            b[i] = rng_next(seed);
        ssize_t w = pwrite(fd, b, n, o);
        if (w < 0 && errno == EINVAL && direct) { /* O_DIRECT refused late */
            close(fd);
            free(b);
            return write_file(path, size, 0, seed);
        }
        if (w != (ssize_t)n)
            die("write %s: %s", path, w < 0 ? strerror(errno) : "short write");
    }
    close(fd);
    free(b);
    return direct;
}

static int cmd_prep(const struct opts *o)
{
    char p[4096];
    uint64_t seed = 0x1234567;
    uint64_t t0 = now_ns();
    snprintf(p, sizeof p, "%s/data.bin", o->dir);
    int direct = write_file(p, o->data_size, 1, &seed);
    snprintf(p, sizeof p, "%s/write.bin", o->dir);
    write_file(p, o->write_size, 1, &seed);
    snprintf(p, sizeof p, "%s/cached.bin", o->dir);
    write_file(p, o->cached_size, 0, &seed);
    snprintf(p, sizeof p, "%s/files", o->dir);
    if (mkdir(p, 0755) && errno != EEXIST)
        die("mkdir %s: %s", p, strerror(errno));
    for (int i = 0; i < o->nfiles; i++) {
        snprintf(p, sizeof p, "%s/files/f%04d", o->dir, i);
        write_file(p, o->file_size, 1, &seed);
    }
    int dfd = open(o->dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || syncfs(dfd))
        die("syncfs %s: %s", o->dir, strerror(errno));
    close(dfd);
    printf("prep direct=%d secs=%.2f\n", direct, (double)(now_ns() - t0) / 1e9);
    return 0;
}

/* ------------------------------------------------------------------ */
/* info: facts about this machine for the report.                      */

static const char *fs_name(long magic)
{
    switch ((unsigned long)magic) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x858458F6: return "ramfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0xF2F52010: return "f2fs";
    case 0x794C7630: return "overlayfs";
    case 0x6969: return "nfs";
    case 0x2FC12FC1: return "zfs";
    case 0x65735546: return "fuse";
    case 0x01021997: return "9p";
    case 0x5346544E: return "ntfs";
    case 0x4D44: return "vfat";
    default: return "other";
    }
}

static int cmd_info(const struct opts *o)
{
    printf("glibc=%s\n", gnu_get_libc_version());
#ifdef IO_URING_VERSION_MAJOR
    printf("liburing=%d.%d\n", IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR);
#else
    printf("liburing=linked\n");
#endif
    struct io_uring ring;
    int rc = io_uring_queue_init(4, &ring, 0);
    printf("uring_ok=%d\n", rc == 0);
    if (rc == 0)
        io_uring_queue_exit(&ring);
    aio_context_t id = 0;
    int kok = syscall(SYS_io_setup, 4, &id) == 0;
    printf("kaio_ok=%d\n", kok);
    if (kok)
        syscall(SYS_io_destroy, id);
    Dl_info dl;
    char real[4096];
    if (dladdr((void *)io_uring_queue_init, &dl) && dl.dli_fname && realpath(dl.dli_fname, real))
        printf("liburing_so=%s\n", real);
    printf("aio_rs=%s\n", aio_rs_version());
    sc_open();
    printf("perf_syscalls=%d\n", sc_n >= 0);
    if (o->dir) {
        struct statfs sf;
        if (statfs(o->dir, &sf) == 0)
            printf("fstype=%s\nfsmagic=0x%lx\nfree_bytes=%llu\n", fs_name((long)sf.f_type),
                   (unsigned long)sf.f_type, (unsigned long long)sf.f_bavail * (unsigned long long)sf.f_bsize);
        else
            printf("fstype=error:%s\n", strerror(errno));
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.dir = NULL, .engine = "posix", .workload = "randread", .depth = 1,
                     .threads = 1, .warmup = 0.1, .seconds = 1.0, .timeout = 120,
                     .nfiles = 1000};
    if (argc < 2)
        die("usage: aiobench info|prep|run [options] (see the comment at the top of aiobench.c)");
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc)
            die("option %s needs a value", k);
        const char *v = argv[++i];
        if (!strcmp(k, "--dir")) o.dir = v;
        else if (!strcmp(k, "--engine")) o.engine = v;
        else if (!strcmp(k, "--workload")) o.workload = v;
        else if (!strcmp(k, "--depth")) o.depth = atoi(v);
        else if (!strcmp(k, "--threads")) o.threads = atoi(v);
        else if (!strcmp(k, "--warmup")) o.warmup = atof(v);
        else if (!strcmp(k, "--seconds")) o.seconds = atof(v);
        else if (!strcmp(k, "--timeout")) o.timeout = atoi(v);
        else if (!strcmp(k, "--nfiles")) o.nfiles = atoi(v);
        else if (!strcmp(k, "--data-size")) o.data_size = atoll(v);
        else if (!strcmp(k, "--cached-size")) o.cached_size = atoll(v);
        else if (!strcmp(k, "--write-size")) o.write_size = atoll(v);
        else if (!strcmp(k, "--file-size")) o.file_size = atoll(v);
        else die("unknown option %s", k);
    }
    if (!strcmp(cmd, "info"))
        return cmd_info(&o);
    if (!o.dir)
        die("--dir is required");
    if (!strcmp(cmd, "prep"))
        return cmd_prep(&o);
    if (!strcmp(cmd, "run"))
        return cmd_run(&o);
    die("unknown command %s", cmd);
}
