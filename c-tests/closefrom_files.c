/* DESCRIPTION: after the first AIO calls the program closes every fd above 2 (closefrom) and reuses the numbers for files and pipes; more AIO (with SIGEV_SIGNAL) then works, notifies, and never reads, writes or closes the program's new descriptors */
#define TEST_ALARM 20
#include "support/fdtest.h"

#define NRW 32          /* reads and writes on the work file */
#define V_PIPE NRW      /* sigev values of the other requests */
#define V_FSYNC (NRW + 1)
#define NREQ (NRW + 2)
#define BLK 512

static atomic_int callbacks;

static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&callbacks, 1);
}

int main(void)
{
    int sig = SIGRTMIN + 5;
    sigc_install(sig);
    /* AIO of every kind first, so that an implementation has whatever
     * descriptors it opens on the way */
    struct elsewhere warm;
    elsewhere_open(&warm);
    aio_elsewhere_sig(&warm, sig, NREQ);
    if (sigc_wait(1, DONE_MS) != 1)
        die("warm-up: the notification did not arrive");

    /* the daemon's closefrom(3), then its own descriptors at the freed numbers */
    int hi = highest_fd();
    close_from(3);
    static struct reuse_set set;
    reuse_fill(&set, hi + 4);
    printf("closed up to fd %d; %d files and pipes reuse the numbers\n", hi,
           set.n);

    /* more AIO, on descriptors opened now */
    int w = tmp_pattern_file(NRW * BLK, 42);
    int p[2];
    make_pipe(p);
    static struct aiocb cbs[NREQ], tcb, ccb;
    static char bufs[NRW][BLK], pbuf[16], tbuf[BLK], cbuf[16];
    for (int i = 0; i < NRW; i++) {
        cb_init(&cbs[i], w, bufs[i], BLK, (off_t)i * BLK);
        if (i % 2)
            pat_fill(bufs[i], BLK, (long long)i * BLK, 43);
    }
    cb_init(&cbs[V_PIPE], p[0], pbuf, sizeof pbuf, 0);
    cb_init(&cbs[V_FSYNC], w, NULL, 0, 0);
    for (int i = 0; i < NREQ; i++) {
        cb_signal(&cbs[i], sig);
        cbs[i].aio_sigevent.sigev_value.sival_int = i;
    }
    CHECK_EQ(aio_read(&cbs[V_PIPE]), 0);
    for (int i = 0; i < NRW; i++)
        CHECK_EQ(i % 2 ? aio_write(&cbs[i]) : aio_read(&cbs[i]), 0);
    CHECK_EQ(aio_fsync(O_SYNC, &cbs[V_FSYNC]), 0);
    cb_init(&tcb, w, tbuf, BLK, 0);
    tcb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    tcb.aio_sigevent.sigev_notify_function = on_done;
    CHECK_EQ(aio_read(&tcb), 0);
    /* a pending read taken back */
    int cp[2];
    make_pipe(cp);
    cb_init(&ccb, cp[0], cbuf, sizeof cbuf, 0);
    CHECK_EQ(aio_read(&ccb), 0);
    int cr = cancel_within(&ccb, DONE_MS, "aio_cancel of a pending pipe read");
    if (cr == AIO_NOTCANCELED)
        write_all(cp[1], "x", 1);
    else if (cr != AIO_CANCELED)
        die("aio_cancel of a pending pipe read returned %d", cr);
    write_all(p[1], "after closefrom!", 16);

    /* the notifications arrive although nobody asks for any status */
    int got = sigc_wait(NREQ + 1, DONE_MS) - 1;
    if (got < NREQ) {
        for (int i = 0, shown = 0; i < NREQ && shown < 4; i++)
            if (sigc_count(i) == 0 && ++shown)
                fprintf(stderr, "  no signal for request %d (aio_error %d)\n",
                        i, aio_error(&cbs[i]));
        die("%d of %d SIGEV_SIGNAL notifications arrived", got, NREQ);
    }
    WAIT_UNTIL(atomic_load(&callbacks) == 1, DONE_MS);
    sigc_expect_once(0, NREQ + 1, 50);

    /* the requests did what they should */
    for (int i = 0; i < NRW; i++) {
        CHECK_DONE_OK(&cbs[i], BLK);
        if (i % 2 == 0)
            CHECK_PAT(bufs[i], BLK, (long long)i * BLK, 42);
    }
    CHECK_DONE_OK(&cbs[V_PIPE], 16);
    CHECK(memcmp(pbuf, "after closefrom!", 16) == 0);
    CHECK_DONE_OK(&cbs[V_FSYNC], 0);
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(&ccb) == EINPROGRESS)
        if (now_ms() > deadline)
            die("the pipe read that aio_cancel answered %s for never "
                "completed", cr == AIO_CANCELED ? "AIO_CANCELED"
                                                 : "AIO_NOTCANCELED (and was fed)");
        else
            pause_us(500);
    if (cr == AIO_CANCELED)
        CHECK_EQ(aio_error(&ccb), ECANCELED);
    else if (aio_error(&ccb) != ECANCELED)
        CHECK_DONE_OK(&ccb, 1);
    CHECK_DONE_OK(&tcb, BLK);
    CHECK_PAT(tbuf, BLK, 0, 42);
    static char back[BLK];
    for (int i = 1; i < NRW; i += 2) {
        CHECK_EQ(pread(w, back, BLK, (off_t)i * BLK), BLK);
        CHECK_PAT(back, BLK, (long long)i * BLK, 43);
    }

    /* and the program's descriptors at the reused numbers are untouched */
    reuse_check_open(&set, "after more AIO");
    reuse_check_data(&set, "after more AIO");

    /* another thread's first request */
    new_thread_request(w, "after closefrom");
    reuse_check_open(&set, "after a new thread's AIO");
    reuse_check_data(&set, "after a new thread's AIO");
    return 0;
}
