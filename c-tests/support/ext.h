/*
 * aio-rs's extensions (vector AIO, completion queues, aio_waitcomplete), for the tests of them.
 * The constants come from the repository's include/aio_rs.h; the functions are looked up at run
 * time, so the tests still build against plain glibc, where ext_require() skips them.
 */
#ifndef AIO_CTEST_EXT_H
#define AIO_CTEST_EXT_H

#include "common.h"
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include "../../include/aio_rs.h"

static int (*x_aio_readv)(struct aiocb *);
static int (*x_aio_writev)(struct aiocb *);
static int (*x_aio_read2)(struct aiocb *, int);
static int (*x_aio_write2)(struct aiocb *, int);
static int (*x_aio_readv64)(struct aiocb64 *);
static int (*x_aio_writev64)(struct aiocb64 *);
static ssize_t (*x_aio_waitcomplete)(struct aiocb **, struct timespec *);
static int (*x_cq_create)(int);
static int (*x_cq_harvest)(int, struct aiocb **, int, const struct timespec *);
static int (*x_cq_close)(int);

#define EXT_SYM(var, name)                                                 \
    do {                                                                   \
        *(void **)&(var) = dlsym(RTLD_DEFAULT, name);                      \
        if (!(var))                                                        \
            skip("no %s in this process (plain glibc)", name);            \
    } while (0)

/* Resolves vector AIO; skips the test where it does not exist. */
CT_FN void vec_require(void)
{
    EXT_SYM(x_aio_readv, "aio_readv");
    EXT_SYM(x_aio_writev, "aio_writev");
    EXT_SYM(x_aio_read2, "aio_read2");
    EXT_SYM(x_aio_write2, "aio_write2");
    EXT_SYM(x_aio_readv64, "aio_readv64");
    EXT_SYM(x_aio_writev64, "aio_writev64");
}

/* Resolves the completion queues and aio_waitcomplete (and vector AIO). */
CT_FN void cq_require(void)
{
    vec_require();
    EXT_SYM(x_aio_waitcomplete, "aio_waitcomplete");
    EXT_SYM(x_cq_create, "aio_rs_cq_create");
    EXT_SYM(x_cq_harvest, "aio_rs_cq_harvest");
    EXT_SYM(x_cq_close, "aio_rs_cq_close");
}

/* A vectored aiocb: iov (cnt entries) at offset off. */
CT_FN void cb_initv(struct aiocb *cb, int fd, struct iovec *iov, int cnt, off_t off)
{
    cb_init(cb, fd, NULL, 0, off);
    AIO_RS_SET_IOV(cb, iov, cnt);
}

/* Submits the three vectored requests cb[0..3] through the three interfaces (aio_readv or
 * aio_writev; aio_read2 or aio_write2 with AIO_OP2_VECTORED; lio_listio with LIO_READV or
 * LIO_WRITEV) and checks that each transferred `total` bytes. */
CT_FN void vec_three_ways(struct aiocb *cb, int write, size_t total)
{
    CHECK_EQ(write ? x_aio_writev(&cb[0]) : x_aio_readv(&cb[0]), 0);
    CHECK_EQ(write ? x_aio_write2(&cb[1], AIO_OP2_VECTORED) : x_aio_read2(&cb[1], AIO_OP2_VECTORED), 0);
    cb[2].aio_lio_opcode = write ? LIO_WRITEV : LIO_READV;
    struct aiocb *list[] = {&cb[2]};
    CHECK_EQ(lio_listio(LIO_WAIT, list, 1, NULL), 0);
    for (int k = 0; k < 3; k++) {
        wait_done(&cb[k]);
        CHECK_DONE_OK(&cb[k], total);
    }
}

/* Splits buf into cnt entries of the given lengths; returns the total. */
CT_FN size_t iov_split(struct iovec *iov, char *buf, const size_t *lens, int cnt)
{
    size_t off = 0;
    for (int i = 0; i < cnt; i++) {
        iov[i].iov_base = buf + off;
        iov[i].iov_len = lens[i];
        off += lens[i];
    }
    return off;
}

/* A new completion queue in *q, and an epoll set holding it. */
CT_FN int cq_epoll(int *q)
{
    *q = x_cq_create(0);
    if (*q < 0)
        die("aio_rs_cq_create");
    int ep = SYS(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN};
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, *q, &ev));
    return ep;
}

/* Whether epoll set ep reports something within ms milliseconds. */
CT_FN int ep_ready(int ep, int ms)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait");
    return n > 0;
}

/* With nothing pending on queue q (in epoll set ep), the set goes quiet: a readiness left over
 * (a finisher that signalled after its entry was already taken) is spurious, a zero harvest
 * finds nothing and takes it away. Fails if the set stays readable for a second. */
CT_FN void cq_quiet(int ep, int q)
{
    long long deadline = now_ms() + 1000;
    while (ep_ready(ep, 0)) {
        struct aiocb *got[4];
        struct timespec zero = {0, 0};
        CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
        if (now_ms() > deadline)
            die("the queue stays readable with nothing to harvest");
        pause_us(1000);
    }
}

struct late_write { int fd; const char *msg; };

/* Thread body: writes msg to fd after 100 ms. */
CT_FN void *late_writer(void *arg)
{
    struct late_write *w = arg;
    pause_us(100000);
    write_all(w->fd, w->msg, strlen(w->msg));
    return NULL;
}

/* Asks for the completion on queue q, with the aiocb itself as the cookie. */
CT_FN void cb_queue(struct aiocb *cb, int q)
{
    cb->aio_sigevent.sigev_notify = AIO_RS_SIGEV_QUEUE;
    cb->aio_sigevent.sigev_signo = q;
    cb->aio_sigevent.sigev_value.sival_ptr = cb;
}

/* One round trip of a pipe read for queue q: submitted on p[0] with nothing there (a zero-timeout
 * harvest finds nothing), then 8 bytes written to p[1], and the harvest hands out that read, once,
 * complete. */
CT_FN void cq_pipe_round_trip(int q, int p[2])
{
    struct timespec zero = {0, 0}, ts = ms_ts(DONE_MS);
    static struct aiocb cb;
    static char in[8];
    cb_init(&cb, p[0], in, sizeof in, 0);
    cb_queue(&cb, q);
    CHECK_EQ(aio_read(&cb), 0);
    struct aiocb *got[2];
    CHECK_EQ(x_cq_harvest(q, got, 2, &zero), 0);
    write_all(p[1], "roundtr", sizeof in);
    CHECK_EQ(x_cq_harvest(q, got, 2, &ts), 1);
    CHECK(got[0] == &cb);
    CHECK_DONE_OK(&cb, sizeof in);
}

#endif
