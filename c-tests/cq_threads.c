/* DESCRIPTION: many threads submit to one completion queue while many others harvest it (zero, timed and blocking harvests, some through epoll): every request is handed out exactly once, with its status final */
#define TEST_ALARM 60
#include "support/ext.h"
#include <sys/epoll.h>

enum { SUB = 4, HAR = 4, PER = 3000, N = SUB * PER, BATCH = 64 };

static int q, fd;
static struct aiocb cbs[N];
static char bufs[N][512];
static atomic_int seen[N];
static atomic_int harvested, dup_or_bad;

static void *submitter(void *arg)
{
    int s = (int)(intptr_t)arg;
    for (int i = s * PER; i < (s + 1) * PER; i++) {
        cb_init(&cbs[i], fd, bufs[i], 512, (off_t)(i % 64) * 512);
        cb_queue(&cbs[i], q);
        while (aio_read(&cbs[i]) != 0) {
            if (errno != EAGAIN)
                die("aio_read #%d", i);
            pause_us(100);
        }
        if (i % 97 == 0)
            sched_yield();
    }
    return NULL;
}

static void take(struct aiocb **got, int k)
{
    for (int i = 0; i < k; i++) {
        long idx = got[i] - cbs;
        if (idx < 0 || idx >= N || aio_error(got[i]) != 0 || aio_return(got[i]) != 512 ||
            atomic_fetch_add(&seen[idx], 1) != 0)
            atomic_fetch_add(&dup_or_bad, 1);
    }
    atomic_fetch_add(&harvested, k);
}

static void *harvester(void *arg)
{
    int h = (int)(intptr_t)arg;
    int ep = SYS(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN};
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev)); /* every harvester its own set on the one queue */
    struct aiocb *got[BATCH];
    struct timespec zero = {0, 0}, short_ts = ms_ts(5);
    long long deadline = now_ms() + 50000;
    while (atomic_load(&harvested) < N) {
        if (now_ms() > deadline)
            die("harvested %d of %d", atomic_load(&harvested), N);
        int k;
        switch (h % 4) {
        case 0: /* epoll, then a zero harvest of a few */
            if (epoll_wait(ep, &ev, 1, 5) < 0 && errno != EINTR)
                die("epoll_wait");
            k = x_cq_harvest(q, got, 3, &zero);
            break;
        case 1: /* timed */
            k = x_cq_harvest(q, got, BATCH, &short_ts);
            break;
        case 2: /* one at a time, polling */
            k = x_cq_harvest(q, got, 1, &zero);
            if (k == 0)
                sched_yield();
            break;
        default: /* big batches with a longer wait */
            k = x_cq_harvest(q, got, BATCH, &short_ts);
            break;
        }
        if (k < 0)
            die("harvest");
        take(got, k);
    }
    close(ep);
    return NULL;
}

int main(void)
{
    cq_require();
    fd = tmp_pattern_file(64 * 512, 77);
    q = x_cq_create(0);
    CHECK(q >= 0);
    pthread_t s[SUB], h[HAR];
    for (int i = 0; i < HAR; i++)
        pthread_create(&h[i], NULL, harvester, (void *)(intptr_t)i);
    for (int i = 0; i < SUB; i++)
        pthread_create(&s[i], NULL, submitter, (void *)(intptr_t)i);
    for (int i = 0; i < SUB; i++)
        pthread_join(s[i], NULL);
    for (int i = 0; i < HAR; i++)
        pthread_join(h[i], NULL);
    CHECK_EQ(atomic_load(&dup_or_bad), 0);
    CHECK_EQ(atomic_load(&harvested), N);
    for (int i = 0; i < N; i++)
        if (atomic_load(&seen[i]) != 1)
            die("request %d harvested %d times", i, atomic_load(&seen[i]));
    struct aiocb *got[4];
    struct timespec zero = {0, 0};
    CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
    for (int i = 0; i < N; i += 997)
        CHECK_PAT(bufs[i], 512, (long long)(i % 64) * 512, 77);
    return 0;
}
