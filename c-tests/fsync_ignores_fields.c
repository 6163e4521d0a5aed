/* DESCRIPTION: aio_fsync uses only aio_fildes and aio_sigevent: garbage in aio_reqprio, aio_buf, aio_nbytes, aio_offset, aio_lio_opcode is ignored and the sync completes with 0 */
#include "support/common.h"
#include <limits.h>

static volatile sig_atomic_t signals;
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (si->si_value.sival_ptr)
        signals++;
}

int main(void)
{
    int sig = SIGRTMIN + 6;
    on_signal(sig, handler);
    int fd = tmp_pattern_file(4096, 51);
    struct { int reqprio; void *buf; size_t nbytes; off_t offset; int opcode; }
    garbage[] = {
        { 21, (void *)0x10, (size_t)-1, -1, 77 },
        { -1, NULL, 1, -4096, LIO_READ },
        { INT_MAX, (void *)-1L, SSIZE_MAX, LLONG_MAX, -5 },
        { INT_MIN, (void *)0xdeadbeef, 12345, LLONG_MIN, LIO_WRITE },
        /* what an uninitialised stack aiocb may hold */
        { 0x5a5a5a5a, (void *)0x5a5a5a5a5a5a5a5aL, 0x5a5a5a5a5a5a5a5aUL,
          0x5a5a5a5a5a5a5a5aLL, 0x5a5a5a5a },
    };
    int ops[] = { O_SYNC, O_DSYNC };
    for (unsigned i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        for (unsigned o = 0; o < 2; o++) {
            struct aiocb cb;
            memset(&cb, 0x5a, sizeof cb);
            cb.aio_fildes = fd;
            cb.aio_reqprio = garbage[i].reqprio;
            cb.aio_buf = garbage[i].buf;
            cb.aio_nbytes = garbage[i].nbytes;
            cb.aio_offset = garbage[i].offset;
            cb.aio_lio_opcode = garbage[i].opcode;
            memset(&cb.aio_sigevent, 0, sizeof cb.aio_sigevent);
            cb_signal(&cb, sig);
            signals = 0;
            if (aio_fsync(ops[o], &cb) != 0)
                die("aio_fsync(%s) with garbage set %u", o ? "O_DSYNC" : "O_SYNC",
                    i);
            wait_done(&cb);
            if (aio_error(&cb) != 0 || aio_return(&cb) != 0)
                die("aio_fsync(%s) with garbage set %u completed with error %d "
                    "return %zd", o ? "O_DSYNC" : "O_SYNC", i, aio_error(&cb),
                    aio_return(&cb));
            WAIT_UNTIL(signals == 1, DONE_MS);
        }
    /* the file is untouched */
    char back[4096];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 51);
    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, 4096);
    return 0;
}
