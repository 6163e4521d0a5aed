/* DESCRIPTION: a zero-timeout harvest inside a signal handler (interrupting the main thread's own harvests and submissions) hands each completion out exactly once */
#define TEST_ALARM 30
#include "support/ext.h"

enum { N = 4000 };
static int q;
static struct aiocb cbs[N];
static char bufs[N][64];
static volatile sig_atomic_t in_handler;
static atomic_int seen[N], total, bad;

static void take(struct aiocb **got, int k)
{
    for (int i = 0; i < k; i++) {
        long idx = got[i] - cbs;
        if (idx < 0 || idx >= N || aio_error(got[i]) != 0 || atomic_fetch_add(&seen[idx], 1) != 0)
            atomic_fetch_add(&bad, 1);
    }
    atomic_fetch_add(&total, k);
}

/* One harvest of up to 16, waiting at most ms. */
static void harvest_some(int ms)
{
    struct aiocb *got[16];
    struct timespec ts = ms_ts(ms);
    int k = x_cq_harvest(q, got, 16, &ts);
    if (k < 0 && errno != EINTR)
        die("harvest");
    if (k > 0)
        take(got, k);
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si; (void)uc;
    int saved = errno;
    struct aiocb *got[4];
    struct timespec zero = {0, 0};
    int k = x_cq_harvest(q, got, 4, &zero);
    if (k < 0)
        atomic_fetch_add(&bad, 1);
    else
        take(got, k);
    in_handler++;
    errno = saved;
}

int main(void)
{
    cq_require();
    int fd = tmp_pattern_file(4096, 3);
    q = x_cq_create(0);
    CHECK(q >= 0);
    on_signal(SIGUSR1, handler);
    timer_t t = thread_timer_start(SIGUSR1, 1, 1);
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], 64, (off_t)(i % 64) * 64);
        cb_queue(&cbs[i], q);
        while (aio_read(&cbs[i]) != 0) {
            if (errno != EAGAIN && errno != EINTR)
                die("aio_read #%d", i);
        }
        if (i % 8 == 0)
            harvest_some(1);
    }
    long long deadline = now_ms() + 20000;
    while (atomic_load(&total) < N) {
        if (now_ms() > deadline)
            die("harvested %d of %d", atomic_load(&total), N);
        harvest_some(2);
    }
    thread_timer_stop(t);
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&total), N);
    CHECK(in_handler > 0);
    return 0;
}
