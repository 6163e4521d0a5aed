/* DESCRIPTION: a read whose aio_offset + aio_nbytes overflows (or that starts far beyond end of file), submitted in the middle of a burst of reads on one file (buffered: a batch of aio-rs's; O_DIRECT: kernel AIO; and in a lio_listio), ends with what pread gives for it (EINVAL, or 0), and every read around it still reads its data */
#include "support/defer.h"
#include <limits.h>

#define SEED 61
enum { N = 7, SZ = 4096, BAD = 3, FAR = 5 };

/* What pread says about a read of n bytes at off: the byte count, or minus the errno. */
static long long pread_says(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r = pread(fd, buf, n, off);
    return r < 0 ? -(long long)errno : (long long)r;
}

static long long aio_says(struct aiocb *cb)
{
    int e = aio_error(cb);
    ssize_t r = aio_return(cb);
    if (e != 0) {
        if (r != -1)
            die("aio_error %d with aio_return %zd", e, r);
        return -(long long)e;
    }
    return (long long)r;
}

/* Offsets: entry BAD overflows with its length, entry FAR starts far beyond end of file, the
 * others are blocks of the pattern file. */
static off_t entry_off(int i, off_t bad_off)
{
    if (i == BAD)
        return bad_off;
    if (i == FAR)
        return (off_t)1 << 40;
    return (off_t)SZ * (i + 2);
}

static void burst(int fd, char (*bufs)[SZ], off_t bad_off, int use_lio, const char *what)
{
    static char probe[2 * SZ] __attribute__((aligned(4096)));
    long long want_bad = pread_says(fd, probe, SZ, bad_off);
    long long want_far = pread_says(fd, probe, SZ, (off_t)1 << 40);
    if (want_bad >= 0)
        die("%s: pread at %lld of %d bytes gave %lld, not an error", what, (long long)bad_off, SZ,
            want_bad);
    struct aiocb cb[N];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        memset(bufs[i], 0x5a, SZ);
        cb_init(&cb[i], fd, bufs[i], SZ, entry_off(i, bad_off));
        cb[i].aio_lio_opcode = LIO_READ;
        list[i] = &cb[i];
        if (!use_lio)
            CHECK_EQ(aio_read(&cb[i]), 0);
    }
    if (use_lio)
        CHECK_ERR(lio_listio(LIO_WAIT, list, N, NULL), EIO);
    for (int i = 0; i < N; i++) {
        wait_done(&cb[i]);
        long long got = aio_says(&cb[i]);
        if (i == BAD) {
            if (got != want_bad)
                die("%s: overflowing read gave %lld, pread %lld", what, got, want_bad);
            for (int k = 0; k < SZ; k++)
                if ((unsigned char)bufs[i][k] != 0x5a)
                    die("%s: the failed read wrote its buffer at %d", what, k);
        } else if (i == FAR) {
            if (got != want_far)
                die("%s: read beyond end of file gave %lld, pread %lld", what, got, want_far);
        } else {
            if (got != SZ)
                die("%s: read %d gave %lld, expected %d", what, i, got, SZ);
            CHECK_PAT(bufs[i], SZ, (long long)SZ * (i + 2), SEED);
        }
    }
}

int main(void)
{
    static char bufs[N][SZ] __attribute__((aligned(4096)));
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    /* Buffered: the reads after the first follow a read on another aiocb. */
    for (int round = 0; round < 3; round++) {
        burst(fd, bufs, LLONG_MAX - 10, 0, "buffered, offset near LLONG_MAX");
        burst(fd, bufs, LLONG_MAX - SZ + 1, 0, "buffered, end exactly past LLONG_MAX");
    }
    burst(fd, bufs, LLONG_MAX - 10, 1, "buffered, lio_listio");

    /* O_DIRECT: aligned offset and length, so only the overflow is wrong. */
    int dfd = tmp_open(O_DIRECT);
    if (dfd < 0) {
        if (errno == EINVAL)
            return 0;
        die("open O_DIRECT");
    }
    static char chunk[1 << 16] __attribute__((aligned(4096)));
    for (int off = 0; off < 1 << 20; off += (int)sizeof chunk) {
        pat_fill(chunk, sizeof chunk, off, SEED);
        if (pwrite(dfd, chunk, sizeof chunk, off) != (ssize_t)sizeof chunk)
            die("pwrite O_DIRECT");
    }
    off_t dbad = (off_t)((unsigned long long)LLONG_MAX + 1 - SZ);
    for (int round = 0; round < 3; round++)
        burst(dfd, bufs, dbad, 0, "O_DIRECT, block-aligned end past LLONG_MAX");
    burst(dfd, bufs, dbad, 1, "O_DIRECT, lio_listio");
    return 0;
}
