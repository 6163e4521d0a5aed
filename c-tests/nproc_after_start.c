/* DESCRIPTION: once AIO has started (one page-cached read), thread creation starts failing (RLIMIT_NPROC reached); then pipe reads that must wait, buffered writes, fsync, SIGEV_SIGNAL and SIGEV_THREAD reads and O_DIRECT reads are each refused with EAGAIN or accepted, and every accepted one completes (the pipe reads once their data comes) and notifies, while the limit still stands */
/* GLIBC-XFAIL: glibc accepts a SIGEV_THREAD request and then cannot create the notification's thread: the callback never runs (its requests do complete) */
#define TEST_ALARM 30
#include "support/fdtest.h"
#include <sys/resource.h>

enum { NP = 4, NW = 8, SZ = 4096 };

static atomic_int callbacks;
static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&callbacks, 1);
}

/* Waits up to DONE_MS for cb, polling aio_error (aio_suspend too, every other time). */
static int completes(struct aiocb *cb, int use_suspend)
{
    long long deadline = now_ms() + DONE_MS;
    while (aio_error(cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            return 0;
        if (use_suspend) {
            const struct aiocb *l[1] = { cb };
            struct timespec ts = ms_ts(50);
            aio_suspend(l, 1, &ts);
        } else {
            pause_us(500);
        }
    }
    return 1;
}

static int body(void)
{
    int sig = SIGRTMIN + 5;
    sigc_install(sig);
    int f = tmp_pattern_file(1 << 20, 66);
    int d = tmp_open(O_DIRECT);
    int p[NP][2];
    for (int i = 0; i < NP; i++)
        make_pipe(p[i]);
    /* AIO starts before the limit. */
    read_one_by_one(f, 2, 512, 66);

    struct rlimit rl;
    limit_threads_to_none(&rl);

    static char pbuf[NP][16], wbuf[NW][SZ], rbuf[4][SZ] __attribute__((aligned(4096)));
    struct aiocb pr[NP], w[NW], fs, sr[4], dr;
    int pok[NP], wok[NW], fok, sok[4], dok = 0;
    int signals = 0;
    char what[64];
    for (int i = 0; i < NP; i++) {
        cb_init(&pr[i], p[i][0], pbuf[i], sizeof pbuf[i], 0);
        snprintf(what, sizeof what, "pipe read %d", i);
        pok[i] = accepted_or_eagain(aio_read(&pr[i]), what);
    }
    for (int i = 0; i < NW; i++) {
        pat_fill(wbuf[i], SZ, SZ * (100 + i), 66);
        cb_init(&w[i], f, wbuf[i], SZ, SZ * (100 + i));
        snprintf(what, sizeof what, "buffered write %d", i);
        wok[i] = accepted_or_eagain(aio_write(&w[i]), what);
    }
    cb_init(&fs, f, NULL, 0, 0);
    fok = accepted_or_eagain(aio_fsync(O_SYNC, &fs), "fsync");
    for (int i = 0; i < 4; i++) {
        cb_init(&sr[i], f, rbuf[i], SZ, SZ * i);
        if (i < 2) {
            cb_signal(&sr[i], sig);
            sr[i].aio_sigevent.sigev_value.sival_int = i;
        } else {
            sr[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
            sr[i].aio_sigevent.sigev_notify_function = on_done;
        }
        snprintf(what, sizeof what, "notified read %d", i);
        sok[i] = accepted_or_eagain(aio_read(&sr[i]), what);
        signals += i < 2 && sok[i];
    }
    static char dbuf[SZ] __attribute__((aligned(4096)));
    if (d >= 0) {
        cb_init(&dr, d, dbuf, SZ, 0);
        dok = accepted_or_eagain(aio_read(&dr), "O_DIRECT read");
    }
    int np = 0, nw = 0, ns = 0;
    for (int i = 0; i < NP; i++)
        np += pok[i];
    for (int i = 0; i < NW; i++)
        nw += wok[i];
    for (int i = 0; i < 4; i++)
        ns += sok[i];
    printf("accepted: %d of %d pipe reads, %d of %d writes, fsync %d, %d of 4 notified reads, "
           "O_DIRECT read %d\n", np, NP, nw, NW, fok, ns, dok);
    for (int i = 0; i < NP; i++)
        write_all(p[i][1], "data", 4);
    int fails = 0;
    for (int i = 0; i < NP; i++)
        if (pok[i] && !completes(&pr[i], i & 1)) {
            fprintf(stderr, "accepted pipe read %d never completed\n", i);
            fails++;
        } else if (pok[i]) {
            CHECK_DONE_OK(&pr[i], 4);
        }
    for (int i = 0; i < NW; i++)
        if (wok[i] && !completes(&w[i], i & 1)) {
            fprintf(stderr, "accepted write %d never completed\n", i);
            fails++;
        } else if (wok[i]) {
            CHECK_DONE_OK(&w[i], SZ);
        }
    if (fok && !completes(&fs, 1)) {
        fprintf(stderr, "accepted fsync never completed\n");
        fails++;
    }
    int calls = 0;
    for (int i = 0; i < 4; i++)
        if (sok[i] && !completes(&sr[i], i & 1)) {
            fprintf(stderr, "accepted notified read %d never completed\n", i);
            fails++;
        } else if (sok[i]) {
            CHECK_DONE_OK(&sr[i], SZ);
            CHECK_PAT(rbuf[i], SZ, SZ * i, 66);
            calls += i >= 2;
        }
    if (dok && !completes(&dr, 1)) {
        fprintf(stderr, "accepted O_DIRECT read never completed\n");
        fails++;
    } else if (dok) {
        CHECK_DONE_OK(&dr, 0);
    }
    if (sigc_wait(signals, DONE_MS) != signals) {
        fprintf(stderr, "%d of %d signals arrived\n", atomic_load(&sigc_total), signals);
        fails++;
    }
    WAIT_UNTIL(atomic_load(&callbacks) >= calls || now_ms() < 0, DONE_MS);
    if (atomic_load(&callbacks) != calls) {
        fprintf(stderr, "%d of %d SIGEV_THREAD callbacks ran\n", atomic_load(&callbacks), calls);
        fails++;
    }
    struct rlimit back = { rl.rlim_max, rl.rlim_max };
    SYS(setrlimit(RLIMIT_NPROC, &back));
    if (fails)
        die("%d accepted requests did not complete while threads could not be made", fails);
    return 0;
}

int main(void)
{
    return run_where_nproc_binds(body);
}
