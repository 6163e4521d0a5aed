/* DESCRIPTION: with the descriptor table full (RLIMIT_NOFILE reached) before the first AIO call, aio_read/aio_write/aio_fsync are accepted or refused with EAGAIN (never EMFILE); accepted ones complete and notify; with descriptors free again AIO works */
#include "support/fdtest.h"

#define LIMIT 64
#define BLK 512

static int sig;
static int nsent; /* SIGEV_SIGNAL requests accepted so far */

static int accepted(int r, const char *what)
{
    char w[128];
    snprintf(w, sizeof w, "%s with the descriptor table full", what);
    return accepted_or_eagain(r, w);
}

static void want_signal(struct aiocb *cb)
{
    cb_signal(cb, sig);
    cb->aio_sigevent.sigev_value.sival_int = nsent;
}

int main(void)
{
    sig = SIGRTMIN + 2;
    sigc_install(sig);
    int f = tmp_pattern_file(64 * BLK, 61);
    int w = tmp_open(0);
    int p[2];
    make_pipe(p);

    fill_fd_table(LIMIT);

    /* the first AIO calls of the process, with no descriptor to spare */
    static char rb[BLK], pb[16];
    static char wb[BLK];
    pat_fill(wb, BLK, 0, 62);
    struct aiocb rc, wc, sc, pc;
    cb_init(&rc, f, rb, BLK, 3 * BLK);
    want_signal(&rc);
    int r_ok = accepted(aio_read(&rc), "aio_read");
    nsent += r_ok;
    cb_init(&wc, w, wb, BLK, 0);
    want_signal(&wc);
    int w_ok = accepted(aio_write(&wc), "aio_write");
    nsent += w_ok;
    cb_init(&sc, w, NULL, 0, 0);
    want_signal(&sc);
    int s_ok = accepted(aio_fsync(O_SYNC, &sc), "aio_fsync");
    nsent += s_ok;
    cb_init(&pc, p[0], pb, sizeof pb, 0);
    want_signal(&pc);
    int p_ok = accepted(aio_read(&pc), "aio_read on a pipe");
    nsent += p_ok;
    printf("accepted with the table full: read %d write %d fsync %d "
           "pipe read %d\n", r_ok, w_ok, s_ok, p_ok);
    if (p_ok)
        write_all(p[1], "full fd table!!!", 16);

    /* accepted requests notify without being asked about, and complete */
    if (sigc_wait(nsent, DONE_MS) < nsent)
        die("%d of %d notifications arrived", sigc_wait(nsent, 0), nsent);
    if (r_ok) {
        wait_done(&rc);
        CHECK_DONE_OK(&rc, BLK);
        CHECK_PAT(rb, BLK, 3 * BLK, 61);
    }
    if (w_ok) {
        wait_done(&wc);
        CHECK_DONE_OK(&wc, BLK);
    }
    if (s_ok) {
        wait_done(&sc);
        CHECK_DONE_OK(&sc, 0);
    }
    if (p_ok) {
        wait_done(&pc);
        CHECK_DONE_OK(&pc, 16);
        CHECK(memcmp(pb, "full fd table!!!", 16) == 0);
    }
    sigc_expect_once(0, nsent, 30);

    /* descriptors free again: AIO works */
    unfill_fd_table(16);
    cb_init(&rc, f, rb, BLK, 5 * BLK);
    CHECK_EQ(aio_read(&rc), 0);
    cb_init(&pc, p[0], pb, sizeof pb, 0);
    CHECK_EQ(aio_read(&pc), 0);
    write_all(p[1], "descriptors free", 16);
    wait_done(&rc);
    wait_done(&pc);
    CHECK_DONE_OK(&rc, BLK);
    CHECK_PAT(rb, BLK, 5 * BLK, 61);
    CHECK_DONE_OK(&pc, 16);
    CHECK(memcmp(pb, "descriptors free", 16) == 0);
    if (w_ok) {
        static char back[BLK];
        CHECK_EQ(pread(w, back, BLK, 0), BLK);
        CHECK_PAT(back, BLK, 0, 62);
    }
    return 0;
}
