/* DESCRIPTION: lio_listio(LIO_NOWAIT) with a SIGEV_SIGNAL list sigevent signals once, after every entry is done */
#include "support/common.h"

#define N 100
#define SZ 4096

static struct aiocb cbs[N];
static volatile sig_atomic_t count, pending_at_signal = -1, wrong_value;
static int token;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (si->si_value.sival_ptr != &token)
        wrong_value = 1;
    int pending = 0;
    for (int i = 0; i < N; i++)
        if (aio_error(&cbs[i]) == EINPROGRESS)
            pending++;
    if (count == 0)
        pending_at_signal = pending;
    count++;
}

int main(void)
{
    int sig = SIGRTMIN + 3;
    on_signal(sig, handler);
    int fd = tmp_pattern_file(N * SZ, 13);
    static char bufs[N][SZ];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], SZ, (off_t)i * SZ);
        cbs[i].aio_lio_opcode = LIO_READ;
        list[i] = &cbs[i];
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = sig;
    sev.sigev_value.sival_ptr = &token;
    CHECK_EQ(lio_listio(LIO_NOWAIT, list, N, &sev), 0);
    WAIT_UNTIL(count > 0, DONE_MS);
    CHECK_EQ(pending_at_signal, 0);
    CHECK_EQ(wrong_value, 0);
    for (int i = 0; i < N; i++) {
        CHECK_DONE_OK(&cbs[i], SZ);
        CHECK_PAT(bufs[i], SZ, (long long)i * SZ, 13);
    }
    /* grace period: a duplicate notification would show up here */
    pause_us(50000);
    CHECK_EQ(count, 1);
    return 0;
}
