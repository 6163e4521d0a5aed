/* DESCRIPTION: lio_listio(LIO_NOWAIT) with a SIGEV_SIGNAL or SIGEV_THREAD list notification, called by a thread with a deferred cancel pending, returns normally; the list notifications arrive */
#include "support/sigtest.h"

#define N 4
static struct aiocb cbs[2][N];
static struct aiocb *lists[2][N];
static char bufs[2][N][256];
static struct sigevent sev[2];
static int fd, sig;
static atomic_int got_signal, got_thread;

static void handler(int s, siginfo_t *si, void *uc)
{
    (void)s; (void)uc;
    if (si->si_value.sival_ptr == lists[0])
        atomic_fetch_add(&got_signal, 1);
}

static void callback(union sigval v)
{
    if (v.sival_ptr == lists[1])
        atomic_fetch_add(&got_thread, 1);
}

static void body(void)
{
    CHECK_EQ(lio_listio(LIO_NOWAIT, lists[0], N, &sev[0]), 0);
    CHECK_EQ(lio_listio(LIO_NOWAIT, lists[1], N, &sev[1]), 0);
}

int main(void)
{
    sig = SIGRTMIN + 4;
    on_signal(sig, handler);
    fd = tmp_pattern_file(2 * N * 256, 47);
    /* the engine is started already: this is about the calls themselves */
    start_engine(fd);

    for (int l = 0; l < 2; l++)
        for (int i = 0; i < N; i++) {
            off_t off = (off_t)(l * N + i) * 256;
            cb_init(&cbs[l][i], fd, bufs[l][i], 256, off);
            cbs[l][i].aio_lio_opcode = LIO_READ;
            lists[l][i] = &cbs[l][i];
        }
    memset(sev, 0, sizeof sev);
    sev[0].sigev_notify = SIGEV_SIGNAL;
    sev[0].sigev_signo = sig;
    sev[0].sigev_value.sival_ptr = lists[0];
    sev[1].sigev_notify = SIGEV_THREAD;
    sev[1].sigev_notify_function = callback;
    sev[1].sigev_value.sival_ptr = lists[1];
    run_with_pending_cancel(body);
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < N; i++) {
            wait_done(&cbs[l][i]);
            CHECK_DONE_OK(&cbs[l][i], 256);
            CHECK_PAT(bufs[l][i], 256, (long long)(l * N + i) * 256, 47);
        }
    WAIT_UNTIL(atomic_load(&got_signal) >= 1 && atomic_load(&got_thread) >= 1,
               DONE_MS);
    pause_us(50000); /* grace period for a duplicate */
    CHECK_EQ(atomic_load(&got_signal), 1);
    CHECK_EQ(atomic_load(&got_thread), 1);
    return 0;
}
