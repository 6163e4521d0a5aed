/*
 * aiobench: the measuring process of the aio-rs benchmark.
 *
 * One invocation measures one (engine, workload) cell and prints one line
 * "result key=value ..." on stdout (or "skip REASON" with exit status 4 when
 * the engine cannot do the workload, e.g. a library function that does not
 * exist yet).  The orchestrator (bench/src/main.rs) runs it many times,
 * interleaved, and aggregates.
 *
 *   aiobench info [--dir D]
 *   aiobench prep --dir D --data-size N --cached-size N --write-size N
 *                 --nfiles N --file-size N
 *   aiobench run  --dir D --engine E --workload W [--depth N] [--threads N]
 *                 [--warmup S] [--seconds S] [--timeout S]
 *   aiobench count --dir D --engine posix|uring --n N --depth N
 *                 a fixed number of page-cached 4 KiB reads (for instruction
 *                 counts by difference of two lengths under callgrind)
 *   aiobench copy --src F --dst F --cold 0|1 [--timeout S] -- COMMAND ARGS...
 *                 times COMMAND (a file copy) plus an fsync of the copy
 *
 * Engines (one table, one loop):
 *   posix          the aio_* functions this process resolves: glibc's, or
 *                  aio-rs's when the orchestrator sets LD_PRELOAD=libaio_rs.so
 *   posix-cq       the same, but completions are learnt from aio-rs's
 *                  epoll-able completion queue (aio_rs_cq_create; skipped
 *                  where the loaded library has none, e.g. glibc)
 *   uring          raw io_uring through liburing; fsync with IOSQE_IO_DRAIN
 *   uring-nodrain  the same, but an fsync waits (in user space) only for the
 *                  writes submitted before it: later writes are not held back
 *   uring-efd      raw io_uring; completions learnt from an eventfd
 *                  registered with the ring, waited for with epoll_wait
 *   kaio           raw kernel AIO (io_setup/io_submit/io_getevents syscalls)
 *   sync           pread/pwrite/preadv/fsync, one at a time
 *
 * Workloads: randread (O_DIRECT 4 KiB), cached (page-cached 4 KiB), write
 * (O_DIRECT 4 KiB, fsync after every 32 writes), lio (batches of `depth`
 * reads, LIO_WAIT for posix), manyfd (O_DIRECT reads over many files), pipe
 * (ping-pong of a small message over two pipes between two threads), readv
 * (page-cached, 4 x 1 KiB pieces into 4 separate buffers).
 *
 * Build: cc -O2 -I../include -o aiobench aiobench.c -lrt -luring -pthread
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<aio_rs.h>)
#include <aio_rs.h> /* the repository's header (-I include): vector AIO, completion queues */
#endif
#endif

#define BLK 4096
#define MAXTHREADS 8
#define REAP_TIMEOUT_S 10 /* any single wait longer than this is a failure */
#define MSG_LEN 64        /* pipe ping-pong message size */
#define NVEC 4            /* readv: pieces per request */
#define VEC_LEN 1024      /* readv: bytes per piece, each in its own 4 KiB-aligned buffer */
#define EXIT_SKIP 4       /* "this engine cannot do this workload": not a failure */

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
/* Requests, workloads and the engine table.                           */

enum { OP_READ, OP_WRITE, OP_FSYNC, OP_READV };

struct req {
    int op, fd;
    void *buf; /* BLK bytes; OP_READV: NVEC buffers of BLK bytes, one piece in each */
    size_t len; /* bytes to transfer (OP_READV: the sum of the pieces) */
    off_t off;  /* < 0: stream (pipe), no offset */
    long res;   /* bytes, or -errno */
    uint64_t t_sub;
    uint64_t epoch;         /* uring-nodrain: fsyncs accepted before this request */
    struct iovec iov[NVEC]; /* OP_READV */
    struct aiocb cb;        /* posix engines */
    struct iocb kcb;        /* kaio engine */
};

struct wl {
    const char *name;
    int open_direct;  /* wants O_DIRECT */
    int op;           /* OP_READ, OP_WRITE or OP_READV */
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
    {"readv", 0, OP_READV, 0, 0, 0, 0, "cached.bin"},
};

#define ENG_SYNC 1u            /* completes inside submit: depth is 1 */
#define ENG_FSYNC_UNORDERED 2u /* fsync does not wait for earlier writes: drain first */

struct engine {
    const char *name;
    unsigned flags;
    /* NULL when the engine can run the workload in this process, else why not (a skip). */
    const char *(*unsupported)(const struct wl *w);
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

/* FreeBSD's vector AIO, int aio_readv(struct aiocb *): glibc has none; aio-rs
 * has it.  With glibc's struct aiocb the iovec array goes in aio_buf and its
 * count in aio_nbytes.  Looked up at run time, so the worker builds without it. */
static int (*p_aio_readv)(struct aiocb *);

static const char *posix_unsupported(const struct wl *w)
{
    if (w->op == OP_READV) {
        *(void **)&p_aio_readv = dlsym(RTLD_DEFAULT, "aio_readv");
        if (!p_aio_readv)
            return "no aio_readv in this process (glibc has none)";
    }
    return NULL;
}

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

/* An fsync's aiocb keeps the buffer, length and offset fields of a data request,
 * as fio's does: POSIX says aio_fsync ignores them. */
static void posix_prep(struct req *r)
{
    memset(&r->cb, 0, sizeof r->cb);
    r->cb.aio_fildes = r->fd;
    if (r->op == OP_READV) {
        r->cb.aio_buf = r->iov;
        r->cb.aio_nbytes = NVEC;
    } else {
        r->cb.aio_buf = r->buf;
        r->cb.aio_nbytes = r->len;
    }
    r->cb.aio_offset = r->off < 0 ? 0 : r->off;
    r->cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    r->cb.aio_lio_opcode = r->op == OP_WRITE ? LIO_WRITE : LIO_READ;
}

static void posix_track(struct posix_ctx *c, struct req *r)
{
    c->list[c->n] = &r->cb;
    c->reqs[c->n++] = r;
}

/* Issues one prepared request; 0 or -1 with errno, as aio_read does. */
static int posix_issue(struct req *r)
{
    switch (r->op) {
    case OP_READ: return aio_read(&r->cb);
    case OP_WRITE: return aio_write(&r->cb);
    case OP_READV: return p_aio_readv(&r->cb);
    default: return aio_fsync(O_SYNC, &r->cb);
    }
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
        posix_prep(r);
        if (posix_issue(r) < 0)
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

/* --- posix-cq: completions through aio-rs's epoll-able queue ------------
 *
 * aio-rs's completion queue (include/aio_rs.h, aio_rs_cq_create(3)), looked up
 * at run time, so the worker builds and runs without it (a skip):
 *   int aio_rs_cq_create(int flags)      a descriptor, readable (epoll) while
 *                                        completions are pending
 *   int aio_rs_cq_harvest(int q, struct aiocb **v, int n, const struct timespec *t)
 *                                        up to n completed aiocbs, 0 if none
 *   aio_sigevent.sigev_notify = AIO_RS_SIGEV_QUEUE, .sigev_signo = q,
 *   .sigev_value.sival_ptr = a cookie (here the aiocb's own request)
 * The names can be overridden with -DBENCH_CQ_CREATE=... and the like.
 * The loop: submit, then harvest with a zero timeout; if nothing, epoll_wait
 * on the queue descriptor and harvest again. */
#ifndef BENCH_CQ_CREATE
#define BENCH_CQ_CREATE "aio_rs_cq_create"
#endif
#ifndef BENCH_CQ_HARVEST
#define BENCH_CQ_HARVEST "aio_rs_cq_harvest"
#endif
#if !defined(BENCH_SIGEV_CQ) && defined(AIO_RS_SIGEV_QUEUE)
#define BENCH_SIGEV_CQ AIO_RS_SIGEV_QUEUE
#endif

static int (*p_cq_create)(int);
static int (*p_cq_harvest)(int, struct aiocb **, int, const struct timespec *);

static const char *cq_unsupported(const struct wl *w)
{
#ifndef BENCH_SIGEV_CQ
    (void)w;
    return "no AIO_RS_SIGEV_QUEUE in aio_rs.h (build with -I include)";
#else
    if (w->batch)
        return "the completion-queue engine does not do lio batches";
    if (posix_unsupported(w))
        return posix_unsupported(w);
    *(void **)&p_cq_create = dlsym(RTLD_DEFAULT, BENCH_CQ_CREATE);
    *(void **)&p_cq_harvest = dlsym(RTLD_DEFAULT, BENCH_CQ_HARVEST);
    if (!p_cq_create || !p_cq_harvest)
        return "the loaded library has no completion queue (glibc)";
    return NULL;
#endif
}

struct cq_ctx {
    int q, ep, max;
    struct aiocb **got;
};

static void *cq_init(int depth)
{
    struct cq_ctx *c = calloc(1, sizeof *c);
    c->max = depth;
    c->got = calloc((size_t)depth, sizeof *c->got);
    c->q = p_cq_create ? p_cq_create(0) : -1;
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (c->q < 0 || c->ep < 0 || epoll_ctl(c->ep, EPOLL_CTL_ADD, c->q, &ev) < 0) {
        int e = errno ? errno : ENOSYS;
        if (c->ep >= 0)
            close(c->ep);
        free(c->got);
        free(c);
        errno = e;
        return NULL;
    }
    return c;
}

static int cq_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct cq_ctx *c = vc;
    (void)wait_all;
    for (int i = 0; i < n; i++) {
        struct req *r = v[i];
        posix_prep(r);
#ifdef BENCH_SIGEV_CQ
        r->cb.aio_sigevent.sigev_notify = BENCH_SIGEV_CQ;
#endif
        r->cb.aio_sigevent.sigev_signo = c->q;
        r->cb.aio_sigevent.sigev_value.sival_ptr = r;
        if (posix_issue(r) < 0)
            return errno == EAGAIN ? i : -errno;
    }
    return n;
}

static int cq_reap(void *vc, struct req **out, int min, int max)
{
    struct cq_ctx *c = vc;
    static const struct timespec zero = {0, 0};
    (void)min;
    if (max > c->max)
        max = c->max;
    for (;;) {
        int k = p_cq_harvest(c->q, c->got, max, &zero);
        if (k < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (k > 0) {
            for (int i = 0; i < k; i++) {
                struct req *r = (struct req *)((char *)c->got[i] - offsetof(struct req, cb));
                ssize_t rv = aio_return(c->got[i]);
                r->res = rv < 0 ? -(long)aio_error(c->got[i]) : (long)rv;
                out[i] = r;
            }
            return k;
        }
        struct epoll_event ev;
        int e = epoll_wait(c->ep, &ev, 1, REAP_TIMEOUT_S * 1000);
        if (e < 0 && errno != EINTR)
            return -errno;
        if (e == 0)
            return -ETIMEDOUT;
    }
}

static void cq_fini(void *vc)
{
    struct cq_ctx *c = vc;
    close(c->ep);
    close(c->q);
    free(c->got);
    free(c);
}

/* --- uring, uring-nodrain, uring-efd: raw io_uring via liburing ---------- */

enum { URING_DRAIN, URING_NODRAIN, URING_EFD };

struct uring_ctx {
    struct io_uring ring;
    int mode;
    /* URING_NODRAIN: predecessor tracking.  Epoch k is the requests accepted after the
     * k-th fsync and before the (k+1)-th; fsync k closes epoch k and may go to the kernel
     * once no request of epoch <= k is in flight (then it covers them all, as POSIX asks
     * of aio_fsync).  Held fsyncs leave in FIFO order; requests accepted after an fsync
     * go to the kernel at once.
     * Size of live[]: every closed epoch at or after `oldest` still has its fsync held
     * (releasing fsync k needs oldest > k), and each held fsync is one of the caller's
     * `depth` requests in flight, so epoch - oldest <= depth: depth + 2 slots never
     * alias.  The held FIFO has at most depth entries. */
    uint64_t epoch, oldest, held_lo, held_hi;
    unsigned nep;
    unsigned *live;    /* requests in flight per epoch, at [epoch % nep] */
    struct req **held; /* fsyncs not yet given to the kernel, at [i % nep] */
    /* URING_EFD: an eventfd registered with the ring, watched by an epoll set. */
    int efd, ep;
};

static void *uring_make(int depth, int mode)
{
    struct uring_ctx *c = calloc(1, sizeof *c);
    unsigned entries = 8;
    while (entries < (unsigned)depth)
        entries <<= 1;
    int rc = io_uring_queue_init(entries, &c->ring, 0);
    if (rc < 0) {
        free(c);
        errno = -rc;
        return NULL;
    }
    c->mode = mode;
    c->efd = c->ep = -1;
    if (mode == URING_NODRAIN) {
        c->nep = (unsigned)depth + 2;
        c->live = calloc(c->nep, sizeof *c->live);
        c->held = calloc(c->nep, sizeof *c->held);
    } else if (mode == URING_EFD) {
        struct epoll_event ev = {.events = EPOLLIN};
        c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        c->ep = epoll_create1(EPOLL_CLOEXEC);
        if (c->efd < 0 || c->ep < 0 || (rc = io_uring_register_eventfd(&c->ring, c->efd)) < 0 ||
            epoll_ctl(c->ep, EPOLL_CTL_ADD, c->efd, &ev) < 0) {
            int e = rc < 0 ? -rc : errno;
            io_uring_queue_exit(&c->ring);
            if (c->efd >= 0)
                close(c->efd);
            if (c->ep >= 0)
                close(c->ep);
            free(c);
            errno = e;
            return NULL;
        }
    }
    return c;
}

static void *uring_init(int depth) { return uring_make(depth, URING_DRAIN); }
static void *nodrain_init(int depth) { return uring_make(depth, URING_NODRAIN); }
static void *efd_init(int depth) { return uring_make(depth, URING_EFD); }

/* Fills one SQE for r; 0 if the submission queue is full. */
static int uring_prep(struct uring_ctx *c, struct req *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
    if (!sqe)
        return 0;
    __u64 off = r->off < 0 ? (__u64)-1 : (__u64)r->off;
    switch (r->op) {
    case OP_READ: io_uring_prep_read(sqe, r->fd, r->buf, (unsigned)r->len, off); break;
    case OP_WRITE: io_uring_prep_write(sqe, r->fd, r->buf, (unsigned)r->len, off); break;
    case OP_READV: io_uring_prep_readv(sqe, r->fd, r->iov, NVEC, off); break;
    default:
        io_uring_prep_fsync(sqe, r->fd, 0);
        if (c->mode != URING_NODRAIN)
            sqe->flags |= IOSQE_IO_DRAIN; /* barrier: after everything submitted before it */
    }
    io_uring_sqe_set_data(sqe, r);
    return 1;
}

/* uring-nodrain: give the kernel every held fsync whose predecessors are all done. */
static void nodrain_release(struct uring_ctx *c)
{
    while (c->oldest < c->epoch && !c->live[c->oldest % c->nep])
        c->oldest++;
    while (c->held_lo != c->held_hi && c->held[c->held_lo % c->nep]->epoch < c->oldest) {
        if (!uring_prep(c, c->held[c->held_lo % c->nep]))
            break; /* no SQE free: tried again after the next completions */
        c->held_lo++;
    }
}

/* Only fills SQEs: uring_reap submits them and waits in the same io_uring_enter,
 * the cheapest way to drive a ring without SQPOLL. */
static int uring_submit(void *vc, struct req **v, int n, int wait_all)
{
    struct uring_ctx *c = vc;
    int k = 0;
    (void)wait_all;
    for (; k < n; k++) {
        struct req *r = v[k];
        if (c->mode == URING_NODRAIN && r->op == OP_FSYNC) {
            r->epoch = c->epoch++;
            c->held[c->held_hi++ % c->nep] = r;
            nodrain_release(c); /* at once if nothing before it is in flight */
            continue;
        }
        if (!uring_prep(c, r))
            break;
        if (c->mode == URING_NODRAIN) {
            r->epoch = c->epoch;
            c->live[r->epoch % c->nep]++;
        }
    }
    return k;
}

/* Takes the completions there are, up to max. */
static int uring_harvest(struct uring_ctx *c, struct req **out, int max)
{
    struct io_uring_cqe *cqe;
    unsigned head;
    int k = 0;
    io_uring_for_each_cqe(&c->ring, head, cqe)
    {
        if (k == max)
            break;
        struct req *r = io_uring_cqe_get_data(cqe);
        r->res = cqe->res;
        if (c->mode == URING_NODRAIN && r->op != OP_FSYNC)
            c->live[r->epoch % c->nep]--;
        out[k++] = r;
    }
    io_uring_cq_advance(&c->ring, (unsigned)k);
    if (c->mode == URING_NODRAIN && c->held_lo != c->held_hi)
        nodrain_release(c);
    return k;
}

/* uring-efd: submit, then sleep in epoll_wait on the eventfd until a completion is there. */
static int efd_reap(struct uring_ctx *c, struct req **out, int max)
{
    int rc = io_uring_submit(&c->ring);
    if (rc < 0)
        return rc;
    for (;;) {
        int k = uring_harvest(c, out, max);
        if (k)
            return k;
        struct epoll_event ev;
        int n = epoll_wait(c->ep, &ev, 1, REAP_TIMEOUT_S * 1000);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
        uint64_t cnt;
        if (n > 0 && read(c->efd, &cnt, sizeof cnt) < 0 && errno != EAGAIN)
            return -errno;
    }
}

static int uring_reap(void *vc, struct req **out, int min, int max)
{
    struct uring_ctx *c = vc;
    if (c->mode == URING_EFD)
        return efd_reap(c, out, max);
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {REAP_TIMEOUT_S, 0};
    int rc;
    do
        rc = io_uring_submit_and_wait_timeout(&c->ring, &cqe, (unsigned)min, &ts, NULL);
    while (rc == -EINTR);
    if (rc < 0)
        return rc == -ETIME ? -ETIMEDOUT : rc;
    return uring_harvest(c, out, max);
}

static void uring_fini(void *vc)
{
    struct uring_ctx *c = vc;
    io_uring_queue_exit(&c->ring);
    if (c->efd >= 0)
        close(c->efd);
    if (c->ep >= 0)
        close(c->ep);
    free(c->live);
    free(c->held);
    free(c);
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
        switch (r->op) {
        case OP_READ: cb->aio_lio_opcode = IOCB_CMD_PREAD; break;
        case OP_WRITE: cb->aio_lio_opcode = IOCB_CMD_PWRITE; break;
        case OP_READV: cb->aio_lio_opcode = IOCB_CMD_PREADV; break;
        default: cb->aio_lio_opcode = IOCB_CMD_FSYNC;
        }
        if (r->op != OP_FSYNC) { /* the kernel wants buf, offset and size 0 for fsync */
            cb->aio_buf = (__u64)(uintptr_t)(r->op == OP_READV ? (void *)r->iov : r->buf);
            cb->aio_nbytes = r->op == OP_READV ? NVEC : r->len;
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

/* --- sync: pread/pwrite/preadv/fsync (read/write on pipes) --------------- */

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
    else if (r->op == OP_READV)
        rv = preadv(r->fd, r->iov, NVEC, r->off);
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
    {"posix", 0, posix_unsupported, posix_init, posix_submit, posix_reap, posix_fini},
    {"posix-cq", 0, cq_unsupported, cq_init, cq_submit, cq_reap, cq_fini},
    {"uring", 0, NULL, uring_init, uring_submit, uring_reap, uring_fini},
    {"uring-nodrain", 0, NULL, nodrain_init, uring_submit, uring_reap, uring_fini},
    {"uring-efd", 0, NULL, efd_init, uring_submit, uring_reap, uring_fini},
    {"kaio", ENG_FSYNC_UNORDERED, NULL, kaio_init, kaio_submit, kaio_reap, kaio_fini},
    {"sync", ENG_SYNC, NULL, sync_init, sync_submit, sync_reap, free},
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
        pool[i].buf = xalign(w->op == OP_READV ? NVEC * BLK : BLK);
        for (int j = 0; j < NVEC; j++) { /* readv: one piece per 4 KiB buffer */
            pool[i].iov[j].iov_base = (char *)pool[i].buf + j * BLK;
            pool[i].iov[j].iov_len = VEC_LEN;
        }
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
                r->len = op == OP_READV ? NVEC * VEC_LEN : BLK;
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

static const char *loaded_aio_rs_version(void)
{
    const char *(*fn)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "aio_rs_version");
    return fn ? fn() : "none";
}

static double tv_us(struct timeval a, struct timeval b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_usec - a.tv_usec);
}

/* Whether io_uring is forbidden here (a seccomp filter such as bench/nouring's, or
 * kernel.io_uring_disabled): an io_uring_setup with 0 entries fails with EPERM or ENOSYS
 * instead of EINVAL. */
static int uring_blocked(void)
{
    long rc = syscall(SYS_io_uring_setup, 0, NULL);
    if (rc >= 0) {
        close((int)rc);
        return 0;
    }
    return errno == EPERM || errno == ENOSYS;
}

struct opts {
    const char *dir, *engine, *workload;
    int depth, threads;
    double warmup, seconds;
    int timeout;
    long long data_size, cached_size, write_size, file_size;
    int nfiles;
    long long n;          /* count: requests */
    const char *src, *dst; /* copy */
    int cold;             /* copy: source evicted from the page cache first */
    char **cmdv;          /* copy: the command, after "--" */
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
    const char *why = eng->unsupported ? eng->unsupported(w) : NULL;
    if (why) {
        printf("skip %s\n", why);
        return EXIT_SKIP;
    }
    if (o->timeout > 0)
        alarm((unsigned)o->timeout); /* a hang must fail, not stall */
    int blocked = uring_blocked();

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
           "uring_blocked=%d aio_rs=%s\n",
           o->engine, o->workload, depth, nthreads, direct, (unsigned long long)ops, secs,
           (double)ops / secs, (unsigned long long)hist_quantile(hist, ops, 0.50),
           (unsigned long long)hist_quantile(hist, ops, 0.99),
           tv_us(ru0.ru_utime, ru1.ru_utime), tv_us(ru0.ru_stime, ru1.ru_stime), (double)(c1 - c0) / 1e3, sys_calls,
           blocked, loaded_aio_rs_version());
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ */
/* count: a fixed number of page-cached 4 KiB random reads at a fixed
 * depth, for instruction counts under callgrind.  The orchestrator runs
 * two lengths and divides the difference of the counts by the difference
 * of the lengths, so the setup (process start, ring, cache warm-up) drops
 * out.  posix: the loop of aio_read, aio_suspend on the whole list,
 * aio_error and aio_return (SIGEV_NONE); uring: liburing, one
 * io_uring_submit_and_wait per round, each completion resubmitted.     */

static int count_posix(int fd, off_t blocks, long long n, int depth, uint64_t *seed)
{
    struct aiocb *cb = calloc((size_t)depth, sizeof *cb);
    const struct aiocb **list = calloc((size_t)depth, sizeof *list);
    char *buf = xalign((size_t)depth * BLK);
    long long issued = 0, done = 0;
    for (int i = 0; i < depth && issued < n; i++, issued++) {
        cb[i].aio_fildes = fd;
        cb[i].aio_buf = buf + (size_t)i * BLK;
        cb[i].aio_nbytes = BLK;
        cb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
        cb[i].aio_offset = (off_t)(rng_next(seed) % (uint64_t)blocks) * BLK;
        if (aio_read(&cb[i]))
            die("aio_read: %s", strerror(errno));
        list[i] = &cb[i];
    }
    while (done < n) {
        if (aio_suspend(list, depth, NULL) < 0 && errno != EINTR && errno != EAGAIN)
            die("aio_suspend: %s", strerror(errno));
        for (int i = 0; i < depth; i++) {
            if (!list[i])
                continue;
            int e = aio_error(&cb[i]);
            if (e == EINPROGRESS)
                continue;
            if (e || aio_return(&cb[i]) != BLK)
                die("read failed: %s", strerror(e ? e : EIO));
            done++;
            list[i] = NULL;
            if (issued < n) {
                cb[i].aio_offset = (off_t)(rng_next(seed) % (uint64_t)blocks) * BLK;
                if (aio_read(&cb[i]))
                    die("aio_read: %s", strerror(errno));
                issued++;
                list[i] = &cb[i];
            }
        }
    }
    free(buf);
    free(list);
    free(cb);
    return 0;
}

static void count_uring_read(struct io_uring *ring, int fd, char *buf, int i, off_t off)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        die("no free SQE");
    io_uring_prep_read(sqe, fd, buf + (size_t)i * BLK, BLK, (__u64)off);
    io_uring_sqe_set_data(sqe, (void *)(uintptr_t)i);
}

static int count_uring(int fd, off_t blocks, long long n, int depth, uint64_t *seed)
{
    struct io_uring ring;
    unsigned entries = 8;
    while (entries < (unsigned)depth)
        entries <<= 1;
    int rc = io_uring_queue_init(entries, &ring, 0);
    if (rc < 0)
        die("io_uring_queue_init: %s", strerror(-rc));
    char *buf = xalign((size_t)depth * BLK);
    long long issued = 0, done = 0;
    for (int i = 0; i < depth && issued < n; i++, issued++)
        count_uring_read(&ring, fd, buf, i, (off_t)(rng_next(seed) % (uint64_t)blocks) * BLK);
    while (done < n) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR)
            die("io_uring_submit_and_wait: %s", strerror(-rc));
        struct io_uring_cqe *cqe;
        unsigned head, k = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            if (cqe->res != BLK)
                die("read failed: %s", cqe->res < 0 ? strerror(-cqe->res) : "short read");
            k++;
            done++;
            if (issued < n) {
                count_uring_read(&ring, fd, buf, (int)(uintptr_t)io_uring_cqe_get_data(cqe),
                                 (off_t)(rng_next(seed) % (uint64_t)blocks) * BLK);
                issued++;
            }
        }
        io_uring_cq_advance(&ring, k);
    }
    io_uring_queue_exit(&ring);
    free(buf);
    return 0;
}

static int cmd_count(const struct opts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cached.bin", o->dir);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_size < BLK)
        die("%s: missing or too small (run prep first)", path);
    if (o->n < 1 || o->depth < 1)
        die("bad --n or --depth");
    if (o->timeout > 0)
        alarm((unsigned)o->timeout);
    warm_cache(fd, st.st_size);
    uint64_t seed = 0x5eed;
    off_t blocks = st.st_size / BLK;
    int rc;
    if (!strcmp(o->engine, "posix"))
        rc = count_posix(fd, blocks, o->n, o->depth, &seed);
    else if (!strcmp(o->engine, "uring"))
        rc = count_uring(fd, blocks, o->n, o->depth, &seed);
    else
        die("count: engine must be posix or uring");
    printf("count engine=%s n=%lld depth=%d uring_blocked=%d aio_rs=%s\n", o->engine, o->n,
           o->depth, uring_blocked(), loaded_aio_rs_version());
    return rc;
}

/* ------------------------------------------------------------------ */
/* copy: times a file copy made by another program (cp, dd, aiocp) plus
 * an fsync of the copy, so that every contender pays for durability
 * (aiocp fsyncs by itself; its fsync here then finds nothing to do).
 * The source is read into the page cache first, or evicted (--cold 1,
 * POSIX_FADV_DONTNEED: the file is clean, so no root is needed), after a
 * syncfs that settles what the previous run left (its deleted copy).  The
 * copy is checked (size, and 64 sampled blocks plus the last one).
 * "ops" are MiB, so "iops" is MiB/s.                                   */

static int same_block(int a, int b, off_t off, size_t n, char *x, char *y)
{
    ssize_t ra = pread(a, x, n, off), rb = pread(b, y, n, off);
    return ra == rb && ra >= 0 && !memcmp(x, y, (size_t)ra);
}

static int cmd_copy(const struct opts *o)
{
    if (!o->src || !o->dst || !o->cmdv || !o->cmdv[0])
        die("copy needs --src, --dst and -- COMMAND ARGS");
    if (o->timeout > 0)
        alarm((unsigned)o->timeout);
    int s = open(o->src, O_RDONLY);
    struct stat st;
    if (s < 0 || fstat(s, &st))
        die("%s: %s", o->src, strerror(errno));
    if (unlink(o->dst) && errno != ENOENT)
        die("unlink %s: %s", o->dst, strerror(errno));
    /* The previous run's copy was deleted at its end; its blocks are freed (and, on a file
     * system mounted with discard, discarded) when the journal commits, which would otherwise
     * happen during this run's copy: commit it now, before the clock starts, so every contender
     * starts on the same settled disk. */
    if (syncfs(s))
        die("syncfs %s: %s", o->src, strerror(errno));
    if (o->cold) {
        int e = posix_fadvise(s, 0, 0, POSIX_FADV_DONTNEED);
        if (e)
            die("posix_fadvise: %s", strerror(e));
    } else
        warm_cache(s, st.st_size);
    struct rusage c0, c1;
    getrusage(RUSAGE_CHILDREN, &c0);
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(o->cmdv[0], o->cmdv);
        fprintf(stderr, "aiobench: exec %s: %s\n", o->cmdv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    uint64_t t_copy = now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "aiobench: %s %s %d\n", o->cmdv[0],
                WIFEXITED(status) ? "exited with status" : "was killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        unlink(o->dst);
        return 3;
    }
    int d = open(o->dst, O_RDONLY);
    if (d < 0 || fsync(d))
        die("fsync %s: %s", o->dst, strerror(errno));
    uint64_t t1 = now_ns();
    getrusage(RUSAGE_CHILDREN, &c1);
    struct stat dt;
    int ok = !fstat(d, &dt) && dt.st_size == st.st_size;
    char *x = xalign(BLK), *y = xalign(BLK);
    uint64_t seed = t1;
    off_t blocks = st.st_size / BLK;
    for (int i = 0; ok && i < 64 && blocks > 0; i++)
        ok = same_block(s, d, (off_t)(rng_next(&seed) % (uint64_t)blocks) * BLK, BLK, x, y);
    if (ok && st.st_size > 0)
        ok = same_block(s, d, (st.st_size - 1) / BLK * BLK, BLK, x, y);
    free(x);
    free(y);
    close(d);
    close(s);
    unlink(o->dst);
    if (!ok) {
        fprintf(stderr, "aiobench: the copy made by %s differs from its source\n", o->cmdv[0]);
        return 3;
    }
    double secs = (double)(t1 - t0) / 1e9, mib = (double)st.st_size / 1048576.0;
    double u = tv_us(c0.ru_utime, c1.ru_utime), k = tv_us(c0.ru_stime, c1.ru_stime);
    printf("result engine=copy workload=copy depth=0 threads=1 direct=%d ops=%.3f secs=%.6f "
           "iops=%.3f p50_ns=-1 p99_ns=-1 utime_us=%.0f stime_us=%.0f cpu_us=%.0f syscalls=-1 "
           "copy_secs=%.6f fsync_secs=%.6f uring_blocked=%d aio_rs=%s\n",
           o->cold, mib, secs, mib / secs, u, k, u + k, (double)(t_copy - t0) / 1e9,
           (double)(t1 - t_copy) / 1e9, uring_blocked(), loaded_aio_rs_version());
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
    printf("uring_ok=%d\nuring_blocked=%d\n", rc == 0, uring_blocked());
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
    printf("aio_rs=%s\n", loaded_aio_rs_version());
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
        die("usage: aiobench info|prep|run|count|copy [options] (see the comment at the top of aiobench.c)");
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--")) { /* copy: the command follows */
            o.cmdv = argv + i + 1;
            break;
        }
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
        else if (!strcmp(k, "--n")) o.n = atoll(v);
        else if (!strcmp(k, "--src")) o.src = v;
        else if (!strcmp(k, "--dst")) o.dst = v;
        else if (!strcmp(k, "--cold")) o.cold = atoi(v);
        else die("unknown option %s", k);
    }
    if (!strcmp(cmd, "info"))
        return cmd_info(&o);
    if (!strcmp(cmd, "copy"))
        return cmd_copy(&o);
    if (!o.dir)
        die("--dir is required");
    if (!strcmp(cmd, "prep"))
        return cmd_prep(&o);
    if (!strcmp(cmd, "run"))
        return cmd_run(&o);
    if (!strcmp(cmd, "count"))
        return cmd_count(&o);
    die("unknown command %s", cmd);
}
