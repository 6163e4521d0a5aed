/* DESCRIPTION: once AIO has started (a buffered write done), thread creation starts failing (RLIMIT_NPROC reached); then a pipe read that waits for data (forever, unless the program writes) and, after it, buffered writes and an fsync on a file: each is refused with EAGAIN or accepted, and every accepted file request completes while the pipe read still waits and the limit still stands (it does not wait behind the read) */
/* GLIBC-XFAIL: glibc's one idle thread blocks in the pipe read; the writes, for which it cannot create another thread, wait behind it */
#define TEST_ALARM 30
#include "support/fdtest.h"
#include <sys/resource.h>

enum { NW = 4, SZ = 4096 };


/* Waits until deadline (ms) for cb, polling aio_error only. */
static int completes(struct aiocb *cb, long long deadline)
{
    while (aio_error(cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            return 0;
        pause_us(500);
    }
    return 1;
}

static int body(void)
{
    int f = tmp_pattern_file(1 << 20, 71);
    int p[2];
    make_pipe(p);
    /* AIO starts before the limit, with a request the library gives a thread (a buffered write). */
    static char wbuf[NW + 1][SZ];
    struct aiocb w0;
    pat_fill(wbuf[NW], SZ, 0, 71);
    cb_init(&w0, f, wbuf[NW], SZ, 0);
    SYS(aio_write(&w0));
    if (!completes(&w0, now_ms() + DONE_MS))
        die("the write before the limit did not complete");
    CHECK_DONE_OK(&w0, SZ);

    struct rlimit rl;
    limit_threads_to_none(&rl);

    static char pbuf[16];
    struct aiocb pr, w[NW], fs;
    cb_init(&pr, p[0], pbuf, sizeof pbuf, 0);
    int pok = accepted_or_eagain(aio_read(&pr), "pipe read");
    int wok[NW], fok, nw = 0;
    char what[64];
    for (int i = 0; i < NW; i++) {
        pat_fill(wbuf[i], SZ, SZ * (10 + i), 71);
        cb_init(&w[i], f, wbuf[i], SZ, SZ * (10 + i));
        snprintf(what, sizeof what, "buffered write %d", i);
        wok[i] = accepted_or_eagain(aio_write(&w[i]), what);
        nw += wok[i];
    }
    cb_init(&fs, f, NULL, 0, 0);
    fok = accepted_or_eagain(aio_fsync(O_SYNC, &fs), "fsync");
    printf("accepted: pipe read %d, %d of %d writes, fsync %d\n", pok, nw, NW, fok);
    int fails = 0;
    /* One bound for them all (glibc, which fails here, would otherwise take it once each). */
    long long deadline = now_ms() + DONE_MS;
    for (int i = 0; i < NW; i++)
        if (wok[i] && !completes(&w[i], deadline)) {
            fprintf(stderr, "accepted write %d never completed while the pipe read waited\n", i);
            fails++;
        } else if (wok[i]) {
            CHECK_DONE_OK(&w[i], SZ);
        }
    if (fok && !completes(&fs, deadline)) {
        fprintf(stderr, "accepted fsync never completed while the pipe read waited\n");
        fails++;
    } else if (fok) {
        CHECK_DONE_OK(&fs, 0);
    }
    if (pok && aio_error(&pr) != EINPROGRESS)
        die("the pipe read ended (%d) before any data was written", aio_error(&pr));
    write_all(p[1], "data", 4);
    if (pok && !completes(&pr, now_ms() + DONE_MS)) {
        fprintf(stderr, "accepted pipe read never completed once its data came\n");
        fails++;
    } else if (pok) {
        CHECK_DONE_OK(&pr, 4);
    }
    struct rlimit back = { rl.rlim_max, rl.rlim_max };
    SYS(setrlimit(RLIMIT_NPROC, &back));
    if (fails)
        die("%d accepted requests did not complete while threads could not be made", fails);
    for (int i = 0; i < NW; i++) {
        char got[SZ];
        if (wok[i]) {
            SYS(pread(f, got, SZ, SZ * (10 + i)));
            CHECK_PAT(got, SZ, SZ * (10 + i), 71);
        }
    }
    return 0;
}

int main(void)
{
    return run_where_nproc_binds(body);
}
