/* DESCRIPTION: many threads harvest one completion queue (through epoll with zero harvests, and timed harvests) while a writer feeds many pipes, each with one queued read in flight that its harvester submits again (the writer mostly writes after the read is submitted, so reads wait parked): every read is handed out exactly once, each pipe's messages arrive whole and in order */
#define TEST_ALARM 60
#include "support/ext.h"
#include <pthread.h>
#include <sys/epoll.h>

enum { P = 24, K = 150, HAR = 4, LEN = 8 };

static int q, pipes[P][2];
static struct aiocb cbs[P];
static char bufs[P][LEN];
static atomic_int inflight[P], next_seq[P], submitted[P], done_total, bad;

static void submit(int p)
{
    cb_init(&cbs[p], pipes[p][0], bufs[p], LEN, 0);
    cb_queue(&cbs[p], q);
    if (atomic_exchange(&inflight[p], 1) != 0)
        atomic_fetch_add(&bad, 1);
    while (aio_read(&cbs[p]) != 0) {
        if (errno != EAGAIN)
            die("aio_read pipe %d", p);
        pause_us(100);
    }
    atomic_fetch_add(&submitted[p], 1);
}

static void take(struct aiocb **got, int k)
{
    for (int i = 0; i < k; i++) {
        long p = got[i] - cbs;
        if (p < 0 || p >= P || atomic_exchange(&inflight[p], 0) != 1) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        int seq = atomic_load(&next_seq[p]);
        char want[LEN];
        memcpy(want, &seq, sizeof seq);
        memcpy(want + 4, &p, 4);
        if (aio_error(got[i]) != 0 || aio_return(got[i]) != LEN || memcmp(bufs[p], want, LEN) != 0)
            atomic_fetch_add(&bad, 1);
        atomic_store(&next_seq[p], seq + 1);
        atomic_fetch_add(&done_total, 1);
        if (seq + 1 < K)
            submit((int)p);
    }
}

static void *harvester(void *arg)
{
    int h = (int)(intptr_t)arg;
    int ep = SYS(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN};
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev));
    struct aiocb *got[8];
    struct timespec zero = {0, 0}, short_ts = ms_ts(5);
    long long deadline = now_ms() + 50000;
    while (atomic_load(&done_total) < P * K) {
        if (now_ms() > deadline)
            die("harvested %d of %d", atomic_load(&done_total), P * K);
        int k;
        if (h % 2 == 0) {
            if (epoll_wait(ep, &ev, 1, 5) < 0 && errno != EINTR)
                die("epoll_wait");
            k = x_cq_harvest(q, got, 1 + h % 3, &zero);
        } else {
            k = x_cq_harvest(q, got, 8, &short_ts);
        }
        if (k < 0)
            die("harvest");
        take(got, k);
    }
    close(ep);
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    long long deadline = now_ms() + 50000;
    for (int s = 0; s < K; s++)
        for (int p = 0; p < P; p++) {
            /* Mostly after read s is submitted (a bounded wait: either way is correct). */
            for (int spin = 0; atomic_load(&submitted[p]) <= s && spin < 1000; spin++) {
                if (now_ms() > deadline)
                    die("writer: pipe %d read %d never submitted", p, s);
                sched_yield();
            }
            char m[LEN];
            memcpy(m, &s, 4);
            memcpy(m + 4, &p, 4);
            write_all(pipes[p][1], m, LEN);
        }
    return NULL;
}

int main(void)
{
    cq_require();
    q = x_cq_create(0);
    CHECK(q >= 0);
    struct aiocb *got[1];
    struct timespec zero = {0, 0};
    CHECK_EQ(x_cq_harvest(q, got, 1, &zero), 0); /* harvested from the start */
    for (int p = 0; p < P; p++) {
        make_pipe(pipes[p]);
        submit(p);
    }
    pthread_t h[HAR], w;
    for (int i = 0; i < HAR; i++)
        CHECK_EQ(pthread_create(&h[i], NULL, harvester, (void *)(intptr_t)i), 0);
    CHECK_EQ(pthread_create(&w, NULL, writer, NULL), 0);
    CHECK_EQ(pthread_join(w, NULL), 0);
    for (int i = 0; i < HAR; i++)
        CHECK_EQ(pthread_join(h[i], NULL), 0);
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&done_total), P * K);
    for (int p = 0; p < P; p++)
        CHECK_EQ(atomic_load(&next_seq[p]), K);
    CHECK_EQ(x_cq_harvest(q, got, 1, &zero), 0);
    return 0;
}
