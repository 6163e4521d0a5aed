/* DESCRIPTION: SIGEV_SIGNAL arrives exactly once per request with SI_ASYNCIO, the sigev_value and our pid */
#include "support/common.h"

#define N 100

static volatile sig_atomic_t per_req[N], total, bad_code, bad_pid, bad_value;
static pid_t mypid;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    int i = si->si_value.sival_int;
    if (si->si_code != SI_ASYNCIO)
        bad_code = si->si_code ? si->si_code : -1000;
    if (si->si_pid != mypid)
        bad_pid = si->si_pid ? si->si_pid : -1;
    if (i < 0 || i >= N)
        bad_value = 1;
    else
        per_req[i]++;
    total++;
}

int main(void)
{
    mypid = getpid();
    int sig = SIGRTMIN + 6;
    on_signal(sig, handler);
    int fd = tmp_pattern_file(N * 100, 24);
    static struct aiocb cbs[N];
    static char bufs[N][100];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], 100, (off_t)i * 100);
        cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        cbs[i].aio_sigevent.sigev_signo = sig;
        cbs[i].aio_sigevent.sigev_value.sival_int = i;
        if ((i % 2 ? aio_read(&cbs[i]) : aio_write(&cbs[i])) != 0)
            die("submit #%d", i);
    }
    WAIT_UNTIL(total >= N, DONE_MS);
    pause_us(50000); /* grace period for duplicates */
    if (bad_code)
        die("si_code %d, expected SI_ASYNCIO (%d)", bad_code, SI_ASYNCIO);
    if (bad_pid)
        die("si_pid %d, expected %d", bad_pid, mypid);
    CHECK_EQ(bad_value, 0);
    for (int i = 0; i < N; i++) {
        if (per_req[i] != 1)
            die("request %d notified %d times", i, per_req[i]);
        CHECK_DONE_OK(&cbs[i], 100);
    }
    CHECK_EQ(total, N);
    return 0;
}
