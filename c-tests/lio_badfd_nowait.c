/* DESCRIPTION: lio_listio(LIO_NOWAIT) with a bad-fd entry returns 0 (as glibc does); that entry reports EBADF and its own notification, the others succeed, the list notification comes once */
#include "support/common.h"

#define N 6
#define SZ 256

static struct aiocb cbs[N];
static struct aiocb *list[N];
static atomic_int entry_sig[N], list_sig;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    void *p = si->si_value.sival_ptr;
    if (p == list)
        atomic_fetch_add(&list_sig, 1);
    for (int i = 0; i < N; i++)
        if (p == &cbs[i])
            atomic_fetch_add(&entry_sig[i], 1);
}

int main(void)
{
    int sig = SIGRTMIN + 8;
    on_signal(sig, handler);
    int fd = tmp_pattern_file(N * SZ, 53);
    static char bufs[N][SZ];
    int bad[2] = { -1, closed_fd() };
    for (int round = 0; round < 2; round++) {
        const int badi = 2 + round;
        for (int i = 0; i < N; i++) {
            cb_init(&cbs[i], i == badi ? bad[round] : fd, bufs[i], SZ,
                    (off_t)i * SZ);
            cbs[i].aio_lio_opcode = LIO_READ;
            cb_signal(&cbs[i], sig);
            list[i] = &cbs[i];
            atomic_store(&entry_sig[i], 0);
        }
        atomic_store(&list_sig, 0);
        struct sigevent sev;
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_SIGNAL;
        sev.sigev_signo = sig;
        sev.sigev_value.sival_ptr = list;
        errno = 0;
        int r = lio_listio(LIO_NOWAIT, list, N, &sev);
        if (r != 0)
            die("lio_listio(LIO_NOWAIT) with entry %d on fd %d returned %d "
                "errno %d (%s); glibc returns 0 and reports EBADF through "
                "that entry", badi, bad[round], r, errno, strerror(errno));
        check_reads_one_ebadf(cbs, &bufs[0][0], N, SZ, badi, 53);
        WAIT_UNTIL(atomic_load(&list_sig) >= 1, DONE_MS);
        for (int i = 0; i < N; i++)
            WAIT_UNTIL(atomic_load(&entry_sig[i]) >= 1, DONE_MS);
        pause_us(20000); /* grace period for duplicates */
        CHECK_EQ(atomic_load(&list_sig), 1);
        for (int i = 0; i < N; i++)
            CHECK_EQ(atomic_load(&entry_sig[i]), 1);
    }
    return 0;
}
