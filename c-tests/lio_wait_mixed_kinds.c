/* DESCRIPTION: lio_listio(LIO_WAIT) over a mix of kinds (a pipe read whose data comes while the list waits, a pipe write, buffered reads and writes, O_DIRECT reads, NULL and LIO_NOP entries) with invalid entries among them (an unknown opcode, a closed fd, a negative offset, a misaligned O_DIRECT read): it fails with EIO only after every entry is done, each invalid entry has its own error (as glibc gives it) and every other entry its data */
#include "support/common.h"

enum { SZ = 4096, N = 14 };

static int feed_fd;
static void *feeder(void *arg)
{
    (void)arg;
    pause_us(20000); /* only so that the list is likely asleep when the data comes */
    write_all(feed_fd, "late-pipe-data", 14);
    return NULL;
}

int main(void)
{
    int f = tmp_pattern_file(1 << 20, 68);
    int d = tmp_open(O_DIRECT);
    static char dchunk[SZ * 4] __attribute__((aligned(4096)));
    if (d >= 0) {
        pat_fill(dchunk, sizeof dchunk, 0, 68);
        if (pwrite(d, dchunk, sizeof dchunk, 0) != (ssize_t)sizeof dchunk)
            die("pwrite O_DIRECT");
    }
    int bad = closed_fd();
    for (int round = 0; round < 6; round++) {
        int in[2], out[2];
        make_pipe(in);
        make_pipe(out);
        static char bufs[N][2 * SZ] __attribute__((aligned(4096)));
        static struct aiocb cbs[N];
        struct aiocb *list[N + 2];
        memset(bufs, 0, sizeof bufs);
        /* expected[i]: >= 0 a byte count, < 0 minus the errno. */
        long expected[N];
        int n = 0;
#define ENTRY(fd, op, buf, len, off, exp)                                  \
    do {                                                                   \
        cb_init(&cbs[n], (fd), (buf), (len), (off));                       \
        cbs[n].aio_lio_opcode = (op);                                      \
        expected[n] = (exp);                                               \
        list[n] = &cbs[n];                                                 \
        n++;                                                               \
    } while (0)
        ENTRY(in[0], LIO_READ, bufs[0], 14, 0, 14);
        ENTRY(out[1], LIO_WRITE, "to-the-pipe", 11, 0, 11);
        ENTRY(f, LIO_READ, bufs[2], SZ, SZ * (round + 1), SZ);
        ENTRY(f, 99, bufs[3], SZ, 0, -EINVAL);
        ENTRY(f, LIO_READ, bufs[4], SZ, SZ * (round + 20), SZ);
        ENTRY(bad, LIO_READ, bufs[5], SZ, 0, -EBADF);
        pat_fill(bufs[6], SZ, SZ * (100 + round), 68);
        ENTRY(f, LIO_WRITE, bufs[6], SZ, SZ * (100 + round), SZ);
        ENTRY(f, LIO_READ, bufs[7], SZ, -SZ, -EINVAL);
        if (d >= 0) {
            ENTRY(d, LIO_READ, bufs[8], SZ, SZ * (round % 4), SZ);
            ENTRY(d, LIO_READ, bufs[9] + 1, SZ, 0, -EINVAL);
        }
        int nent = n;
        list[nent] = NULL;
        struct aiocb nop;
        cb_init(&nop, f, NULL, 0, 0);
        nop.aio_lio_opcode = LIO_NOP;
        list[nent + 1] = &nop;
        feed_fd = in[1];
        pthread_t t;
        if (pthread_create(&t, NULL, feeder, NULL) != 0)
            die("pthread_create");
        errno = 0;
        int r = lio_listio(LIO_WAIT, list, nent + 2, NULL);
        int e = errno;
        pthread_join(t, NULL);
        if (r != -1 || e != EIO)
            die("round %d: lio_listio returned %d errno %d, expected -1 EIO", round, r, e);
        for (int i = 0; i < nent; i++) {
            int err = aio_error(&cbs[i]);
            if (err == EINPROGRESS)
                die("round %d: entry %d still in progress after LIO_WAIT returned", round, i);
            ssize_t ret = aio_return(&cbs[i]);
            long got = err ? -err : (long)ret;
            if (err && ret != -1)
                die("round %d: entry %d: error %d with result %zd", round, i, err, ret);
            if (got != expected[i])
                die("round %d: entry %d gave %ld, expected %ld", round, i, got, expected[i]);
        }
        CHECK(memcmp(bufs[0], "late-pipe-data", 14) == 0);
        char pb[16];
        read_all(out[0], pb, 11);
        CHECK(memcmp(pb, "to-the-pipe", 11) == 0);
        CHECK_PAT(bufs[2], SZ, SZ * (round + 1), 68);
        CHECK_PAT(bufs[4], SZ, SZ * (round + 20), 68);
        for (int k = 0; k < SZ; k++)
            if (bufs[3][k] || bufs[5][k] || bufs[7][k])
                die("round %d: a failed entry wrote its buffer", round);
        char back[SZ];
        CHECK_EQ(pread(f, back, SZ, SZ * (100 + round)), SZ);
        CHECK_PAT(back, SZ, SZ * (100 + round), 68);
        if (d >= 0)
            CHECK_PAT(bufs[8], SZ, SZ * (round % 4), 68);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
    }
    return 0;
}
