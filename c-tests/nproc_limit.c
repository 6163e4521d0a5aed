/* DESCRIPTION: with thread creation failing (RLIMIT_NPROC reached) before the first AIO call, requests are accepted and complete and notify, or are refused with EAGAIN; once the limit is lifted every request is accepted and works */
#define TEST_ALARM 20
#include "support/fdtest.h"

#define NF 20 /* file reads */
#define NP 4  /* pipe reads */
#define BLK 512

static atomic_int callbacks;

static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&callbacks, 1);
}


/* One round: NF file reads and NP pipe reads with SIGEV_SIGNAL (values from
 * base), one SIGEV_THREAD read.  With `must_accept` every submission must
 * succeed, else EAGAIN is allowed.  Accepted requests must complete and
 * notify (the signals without anybody asking for a status); if they do not,
 * says so and returns 1. */
static int round_of(int f, int (*p)[2], int sig, int base, int must_accept,
                     const char *when)
{
    static struct aiocb cbs[NF + NP], tcb;
    static char bufs[NF + NP][BLK], tbuf[BLK];
    int ok[NF + NP], nok = 0;
    char what[160];
    int before = atomic_load(&sigc_total);
    for (int i = 0; i < NF + NP; i++) {
        if (i < NF)
            cb_init(&cbs[i], f, bufs[i], BLK, (off_t)i * BLK);
        else
            cb_init(&cbs[i], p[i - NF][0], bufs[i], 16, 0);
        cb_signal(&cbs[i], sig);
        cbs[i].aio_sigevent.sigev_value.sival_int = base + i;
        int r = aio_read(&cbs[i]);
        snprintf(what, sizeof what, "%s: aio_read #%d", when, i);
        if (must_accept && r != 0)
            die("%s returned %d errno %d (%s)", what, r, errno, strerror(errno));
        ok[i] = accepted_or_eagain(r, what);
        nok += ok[i];
    }
    cb_init(&tcb, f, tbuf, BLK, 0);
    tcb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    tcb.aio_sigevent.sigev_notify_function = on_done;
    int r = aio_read(&tcb);
    snprintf(what, sizeof what, "%s: aio_read with SIGEV_THREAD", when);
    if (must_accept && r != 0)
        die("%s returned %d errno %d (%s)", what, r, errno, strerror(errno));
    int t_ok = accepted_or_eagain(r, what);
    printf("%s: %d of %d SIGEV_SIGNAL reads accepted, SIGEV_THREAD read %s\n",
           when, nok, NF + NP, t_ok ? "accepted" : "refused");
    for (int i = NF; i < NF + NP; i++)
        if (ok[i])
            write_all(p[i - NF][1], "pipe data here..", 16);

    int got = sigc_wait(before + nok, DONE_MS) - before;
    if (got < nok) {
        for (int i = 0, shown = 0; i < NF + NP && shown < 6; i++)
            if (ok[i] && sigc_count(base + i) == 0 && ++shown)
                fprintf(stderr, "  no signal for read %d (aio_error %d)\n", i,
                        aio_error(&cbs[i]));
        fprintf(stderr, "%s: %d of %d SIGEV_SIGNAL notifications arrived\n",
                when, got, nok);
        return 1;
    }
    for (int i = 0; i < NF + NP; i++) {
        if (!ok[i])
            continue;
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(&cbs[i]) == EINPROGRESS && now_ms() < deadline)
            pause_us(500);
        if (aio_error(&cbs[i]) == EINPROGRESS) {
            fprintf(stderr, "%s: accepted read %d never completed\n", when, i);
            return 1;
        }
        if (i < NF) {
            CHECK_DONE_OK(&cbs[i], BLK);
            CHECK_PAT(bufs[i], BLK, (long long)i * BLK, 71);
        } else {
            CHECK_DONE_OK(&cbs[i], 16);
        }
    }
    if (t_ok) {
        wait_done(&tcb);
        CHECK_DONE_OK(&tcb, BLK);
        long long deadline = now_ms() + DONE_MS;
        while (atomic_load(&callbacks) == 0 && now_ms() < deadline)
            pause_us(500);
        if (atomic_load(&callbacks) != 1) {
            fprintf(stderr, "%s: the SIGEV_THREAD callback did not run\n", when);
            return 1;
        }
        atomic_store(&callbacks, 0);
    }
    pause_us(30000);
    for (int i = 0; i < NF + NP; i++)
        if (sigc_count(base + i) != ok[i])
            die("%s: request %d notified %d times", when, i,
                sigc_count(base + i));
    return 0;
}

static int body(void)
{
    int sig = SIGRTMIN + 7;
    sigc_install(sig);
    int f = tmp_pattern_file(NF * BLK, 71);
    int p[NP][2];
    for (int i = 0; i < NP; i++)
        make_pipe(p[i]);

    struct rlimit rl;
    int e = limit_threads_to_none(&rl);
    if (e != EAGAIN)
        die("pthread_create: %s", strerror(e));

    int failed = round_of(f, p, sig, 0, 0, "threads cannot be created");

    struct rlimit back = { rl.rlim_max, rl.rlim_max };
    SYS(setrlimit(RLIMIT_NPROC, &back));
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, nproc_probe_thread, NULL), 0);
    pthread_join(t, NULL);
    /* the pipes may hold data of reads that never ran */
    for (int i = 0; i < NP; i++) {
        char sink[64];
        read_available(p[i][0], sink, sizeof sink);
    }
    if (round_of(f, p, sig, NF + NP, 1, "limit lifted"))
        die("AIO does not work after the limit was lifted");
    if (failed)
        die("accepted requests did not complete or notify while thread "
            "creation failed");
    return 0;
}

int main(void)
{
    return run_where_nproc_binds(body);
}
