/* DESCRIPTION: aio_read/aio_write with SIGEV_SIGNAL, called by a thread with a deferred cancel pending, return normally (no abort, no cancel inside them); the signals arrive */
#include "support/sigtest.h"

static struct aiocb rd, wr;
static char rbuf[512], wbuf[512];
static int fd, sig;
static atomic_int got_rd, got_wr;

static void handler(int s, siginfo_t *si, void *uc)
{
    (void)s; (void)uc;
    if (si->si_value.sival_ptr == &rd)
        atomic_fetch_add(&got_rd, 1);
    else if (si->si_value.sival_ptr == &wr)
        atomic_fetch_add(&got_wr, 1);
}

static void body(void)
{
    CHECK_EQ(aio_read(&rd), 0);
    CHECK_EQ(aio_write(&wr), 0);
}

int main(void)
{
    sig = SIGRTMIN + 3;
    on_signal(sig, handler);
    fd = tmp_pattern_file(4096, 42);
    /* the engine is started already: this is about the calls themselves */
    start_engine(fd);

    cb_init(&rd, fd, rbuf, sizeof rbuf, 0);
    cb_signal(&rd, sig);
    pat_fill(wbuf, sizeof wbuf, 8192, 43);
    cb_init(&wr, fd, wbuf, sizeof wbuf, 8192);
    cb_signal(&wr, sig);
    run_with_pending_cancel(body);
    wait_done(&rd);
    wait_done(&wr);
    CHECK_DONE_OK(&rd, sizeof rbuf);
    CHECK_PAT(rbuf, sizeof rbuf, 0, 42);
    CHECK_DONE_OK(&wr, sizeof wbuf);
    WAIT_UNTIL(atomic_load(&got_rd) >= 1 && atomic_load(&got_wr) >= 1,
               DONE_MS);
    char back[sizeof wbuf];
    CHECK_EQ(pread(fd, back, sizeof back, 8192), sizeof back);
    CHECK_PAT(back, sizeof back, 8192, 43);
    pause_us(50000); /* grace period for a duplicate */
    CHECK_EQ(atomic_load(&got_rd), 1);
    CHECK_EQ(atomic_load(&got_wr), 1);
    return 0;
}
