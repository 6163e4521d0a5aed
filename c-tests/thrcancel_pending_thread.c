/* DESCRIPTION: aio_read/aio_write with SIGEV_THREAD, called by a thread with a deferred cancel pending, return normally (no abort, no cancel inside them); the callbacks run */
#include "support/sigtest.h"

static struct aiocb rd, wr;
static char rbuf[512], wbuf[512];
static int fd;
static atomic_int got_rd, got_wr;

static void callback(union sigval v)
{
    if (v.sival_ptr == &rd)
        atomic_fetch_add(&got_rd, 1);
    else if (v.sival_ptr == &wr)
        atomic_fetch_add(&got_wr, 1);
}

static void cb_thread(struct aiocb *cb)
{
    cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
    cb->aio_sigevent.sigev_notify_function = callback;
    cb->aio_sigevent.sigev_value.sival_ptr = cb;
}

static void body(void)
{
    CHECK_EQ(aio_read(&rd), 0);
    CHECK_EQ(aio_write(&wr), 0);
}

int main(void)
{
    fd = tmp_pattern_file(4096, 44);
    /* the engine is started already: this is about the calls themselves */
    start_engine(fd);

    cb_init(&rd, fd, rbuf, sizeof rbuf, 0);
    cb_thread(&rd);
    pat_fill(wbuf, sizeof wbuf, 8192, 45);
    cb_init(&wr, fd, wbuf, sizeof wbuf, 8192);
    cb_thread(&wr);
    run_with_pending_cancel(body);
    wait_done(&rd);
    wait_done(&wr);
    CHECK_DONE_OK(&rd, sizeof rbuf);
    CHECK_PAT(rbuf, sizeof rbuf, 0, 44);
    CHECK_DONE_OK(&wr, sizeof wbuf);
    WAIT_UNTIL(atomic_load(&got_rd) >= 1 && atomic_load(&got_wr) >= 1,
               DONE_MS);
    pause_us(50000); /* grace period for a duplicate */
    CHECK_EQ(atomic_load(&got_rd), 1);
    CHECK_EQ(atomic_load(&got_wr), 1);
    return 0;
}
