/* DESCRIPTION: a signal every few microseconds whose handler calls aio_error and aio_suspend (zero timeout) on the reads already submitted, while the interrupted thread is deferring more reads into a batch: the handler sees only EINPROGRESS or 0, and every read completes once with the right data */
#include "support/defer.h"

#define SEED 66
enum { N = 8, SZ = 4096, ROUNDS = 300 };

static struct aiocb cb[N];
static char buf[N][SZ];
static volatile sig_atomic_t published, bad, calls;
static int ours;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    int n = published;
    for (int i = 0; i < n; i++) {
        int e = ours ? aio_error(&cb[i]) : cb_field_status(&cb[i]);
        if (e != EINPROGRESS && e != 0)
            bad = 1000 + e;
    }
    /* Under glibc the handler only reads the fields: its aio_error and aio_suspend take the
     * request lock that the interrupted call may hold (the handler then waits forever), although
     * POSIX lists them async-signal-safe. */
    if (n > 0 && ours) {
        const struct aiocb *list[1] = { &cb[n - 1] };
        struct timespec zero = { 0, 0 };
        int r = aio_suspend(list, 1, &zero);
        if (r != 0 && errno != EAGAIN && errno != EINTR)
            bad = 2000 + errno;
    }
    calls++;
    errno = saved;
}

static off_t off_of(int round, int i) { return (off_t)SZ * ((7 * i + round) % 200); }

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    ours = is_aio_rs((void *)aio_read);
    on_signal(SIGUSR1, handler);
    timer_t t;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR1;
    sev._sigev_un._tid = gettid();
    SYS(timer_create(CLOCK_MONOTONIC, &sev, &t));
    struct itimerspec its = { { 0, 20000 }, { 0, 20000 } };
    SYS(timer_settime(t, 0, &its, NULL));
    for (int round = 0; round < ROUNDS; round++) {
        published = 0;
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < N; i++) {
            cb_init(&cb[i], fd, buf[i], SZ, off_of(round, i));
            CHECK_EQ(aio_read(&cb[i]), 0);
            published = i + 1;
        }
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)off_of(round, i), SEED);
        }
        if (bad)
            die("round %d: the handler saw %d", round, (int)bad);
    }
    SYS(timer_delete(t));
    printf("%d handler calls\n", (int)calls);
    return 0;
}
