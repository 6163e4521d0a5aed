/* DESCRIPTION: on every path a request can take (page-cached reads, O_DIRECT read and write, pipe reads done at once or waiting, a socket read, a pipe write, fsync, a closed fd, a negative offset, a cancelled read, lio_listio entries and the list's own signal) SIGEV_SIGNAL and SIGEV_THREAD arrive exactly once and only after the status is final: in the handler aio_error and the aiocb's own fields already hold the result */
#define TEST_ALARM 30
#include "support/common.h"
#include "support/stream.h"

enum { SZ = 4096, NSLOT = 16, ROUNDS = 12 };

struct slot {
    struct aiocb cb;
    atomic_int calls;
    atomic_int bad; /* 1: in progress in the handler; 2: field and aio_error differ */
    int err_seen;
    long ret_field;
};

static struct slot slots[NSLOT];
static atomic_int list_calls, list_bad;
static struct aiocb *lio_members[4];

static void check_in_handler(struct slot *s)
{
    int e = aio_error(&s->cb);
    int field = __atomic_load_n(&s->cb.__error_code, __ATOMIC_ACQUIRE);
    if (e == EINPROGRESS)
        atomic_store(&s->bad, 1);
    else if (field != e)
        atomic_store(&s->bad, 2);
    s->err_seen = e;
    s->ret_field = (long)__atomic_load_n(&s->cb.__return_value, __ATOMIC_ACQUIRE);
    atomic_fetch_add(&s->calls, 1);
}

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (si->si_code != SI_ASYNCIO)
        return;
    if (si->si_value.sival_ptr == (void *)&list_calls) {
        for (int i = 0; i < 4; i++)
            if (aio_error(lio_members[i]) == EINPROGRESS)
                atomic_store(&list_bad, 1);
        atomic_fetch_add(&list_calls, 1);
        return;
    }
    check_in_handler(si->si_value.sival_ptr);
}

static void on_thread(union sigval v) { check_in_handler(v.sival_ptr); }

static int sig;

static struct aiocb *prep(int i, int fd, void *buf, size_t n, off_t off, int thread)
{
    struct slot *s = &slots[i];
    cb_init(&s->cb, fd, buf, n, off);
    atomic_store(&s->calls, 0);
    atomic_store(&s->bad, 0);
    if (thread) {
        s->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
        s->cb.aio_sigevent.sigev_notify_function = on_thread;
    } else {
        s->cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        s->cb.aio_sigevent.sigev_signo = sig;
    }
    s->cb.aio_sigevent.sigev_value.sival_ptr = s;
    return &s->cb;
}

static void expect(int i, int err, long ret, const char *what)
{
    struct slot *s = &slots[i];
    wait_done(&s->cb);
    WAIT_UNTIL(atomic_load(&s->calls) >= 1, DONE_MS);
    if (atomic_load(&s->bad))
        die("%s: in the handler the status was %s", what,
            atomic_load(&s->bad) == 1 ? "still in progress" : "not in the aiocb's field");
    if (s->err_seen != err || (err == 0 && s->ret_field != ret))
        die("%s: the handler saw error %d, result %ld; expected %d, %ld", what, s->err_seen,
            s->ret_field, err, ret);
    CHECK_EQ(aio_error(&s->cb), err);
    CHECK_EQ(aio_return(&s->cb), err ? -1 : ret);
}

int main(void)
{
    sig = SIGRTMIN + 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    SYS(sigaction(sig, &sa, NULL));
    int ffd = tmp_pattern_file(1 << 20, 65);
    int dfd = tmp_open(O_DIRECT);
    int bad = closed_fd();
    static char bufs[NSLOT][SZ] __attribute__((aligned(4096)));
    for (int round = 0; round < ROUNDS; round++) {
        int th = round & 1;
        int p[2], q[2], sp[2], w[2];
        make_pipe(p);
        make_pipe(q);
        make_socketpair(sp);
        make_pipe(w);
        write_all(p[1], "ready", 5);
        CHECK_EQ(aio_read(prep(0, ffd, bufs[0], SZ, SZ * round, th)), 0);
        CHECK_EQ(aio_read(prep(1, ffd, bufs[1], SZ, SZ * (round + 1), th)), 0);
        CHECK_EQ(aio_read(prep(2, p[0], bufs[2], 16, 0, th)), 0);
        CHECK_EQ(aio_read(prep(3, q[0], bufs[3], 16, 0, th)), 0);
        CHECK_EQ(aio_read(prep(4, sp[0], bufs[4], 16, 0, th)), 0);
        CHECK_EQ(aio_write(prep(5, w[1], "to-pipe", 7, 0, th)), 0);
        CHECK_EQ(aio_fsync(O_SYNC, prep(6, ffd, NULL, 0, 0, th)), 0);
        CHECK_EQ(aio_read(prep(7, bad, bufs[7], 16, 0, th)), 0);
        CHECK_EQ(aio_read(prep(8, ffd, bufs[8], 16, -1, th)), 0);
        struct aiocb *c = prep(9, q[0], bufs[9], 16, 0, th);
        CHECK_EQ(aio_read(c), 0);
        int cr = aio_cancel(q[0], c);
        if (dfd >= 0) {
            pat_fill(bufs[10], SZ, 0, round);
            CHECK_EQ(aio_write(prep(10, dfd, bufs[10], SZ, SZ * round, th)), 0);
            wait_done(&slots[10].cb);
            CHECK_EQ(aio_read(prep(11, dfd, bufs[11], SZ, SZ * round, th)), 0);
        }
        /* lio_listio: every entry and the list notify. */
        struct aiocb *list[4];
        for (int i = 0; i < 4; i++) {
            list[i] = prep(12 + i, ffd, bufs[12 + i], SZ, SZ * (i + 3), th);
            list[i]->aio_lio_opcode = LIO_READ;
            lio_members[i] = list[i];
        }
        struct sigevent lsev;
        memset(&lsev, 0, sizeof lsev);
        lsev.sigev_notify = SIGEV_SIGNAL;
        lsev.sigev_signo = sig;
        lsev.sigev_value.sival_ptr = &list_calls;
        int lists_before = atomic_load(&list_calls);
        CHECK_EQ(lio_listio(LIO_NOWAIT, list, 4, &lsev), 0);
        write_all(q[1], "late", 4);
        write_all(sp[1], "sock", 4);

        expect(0, 0, SZ, "first buffered read");
        expect(1, 0, SZ, "second buffered read");
        expect(2, 0, 5, "pipe read with data there");
        expect(4, 0, 4, "socket read that waited");
        expect(5, 0, 7, "pipe write");
        expect(6, 0, 0, "fsync");
        expect(7, EBADF, -1, "read of a closed fd");
        expect(8, EINVAL, -1, "read at a negative offset");
        if (cr == AIO_CANCELED) {
            expect(9, ECANCELED, -1, "cancelled pipe read");
            expect(3, 0, 4, "pipe read that waited");
        } else {
            /* glibc's thread may be blocked in the read (AIO_NOTCANCELED): one of the two pipe
             * reads gets the data, the other gets more later. */
            write_all(q[1], "more", 4);
            expect(3, 0, 4, "pipe read that waited");
            expect(9, 0, 4, "pipe read not cancelled");
        }
        if (dfd >= 0) {
            expect(10, 0, SZ, "O_DIRECT write");
            expect(11, 0, SZ, "O_DIRECT read");
            CHECK_PAT(bufs[11], SZ, 0, round);
        }
        for (int i = 0; i < 4; i++)
            expect(12 + i, 0, SZ, "lio_listio entry");
        WAIT_UNTIL(atomic_load(&list_calls) > lists_before, DONE_MS);
        if (atomic_load(&list_bad))
            die("the list's signal came before all of its entries were done");
        CHECK_PAT(bufs[0], SZ, SZ * round, 65);
        /* No second notification for anything. */
        pause_us(20000);
        for (int i = 0; i < NSLOT; i++)
            if ((i != 10 && i != 11) || dfd >= 0)
                if (atomic_load(&slots[i].calls) != 1)
                    die("round %d: slot %d notified %d times", round, i,
                        atomic_load(&slots[i].calls));
        CHECK_EQ(atomic_load(&list_calls), lists_before + 1);
        close(p[0]); close(p[1]); close(q[0]); close(q[1]);
        close(sp[0]); close(sp[1]); close(w[0]); close(w[1]);
    }
    return 0;
}
