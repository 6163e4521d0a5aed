/* DESCRIPTION: with _FILE_OFFSET_BITS=64 and explicit aio_*64 calls, I/O beyond 4 GiB works */
#define _FILE_OFFSET_BITS 64
#include "support/common.h"

int main(void)
{
    int fd = tmp_open(0);
    const long long off = (5LL << 30) + 12345; /* 5 GiB: needs 64-bit offsets */
    char out[3000], in[3000];
    pat_fill(out, sizeof out, off, 5);

    /* the redirected names (aio_write -> aio_write64) */
    struct aiocb cb;
    CHECK_EQ(sizeof cb, sizeof(struct aiocb64));
    cb_init(&cb, fd, out, sizeof out, off);
    if (aio_write(&cb) != 0)
        die("aio_write");
    wait_done(&cb);
    if (aio_error(&cb) == EFBIG)
        skip("filesystem of %s does not allow 5 GiB files", tmp_dir());
    CHECK_DONE_OK(&cb, sizeof out);

    /* the explicit 64-bit entry points */
    struct aiocb64 c64;
    memset(&c64, 0, sizeof c64);
    c64.aio_fildes = fd;
    c64.aio_buf = in;
    c64.aio_nbytes = sizeof in;
    c64.aio_offset = off;
    c64.aio_sigevent.sigev_notify = SIGEV_NONE;
    CHECK_EQ(aio_read64(&c64), 0);
    const struct aiocb64 *l[1] = { &c64 };
    struct timespec ts = ms_ts(DONE_MS);
    while (aio_error64(&c64) == EINPROGRESS)
        if (aio_suspend64(l, 1, &ts) != 0 && errno != EINTR)
            die("aio_suspend64");
    CHECK_EQ(aio_error64(&c64), 0);
    CHECK_EQ(aio_return64(&c64), sizeof in);
    CHECK_PAT(in, sizeof in, off, 5);

    struct aiocb64 *list[2] = { &c64, NULL };
    memset(in, 0, sizeof in);
    c64.aio_lio_opcode = LIO_READ;
    CHECK_EQ(lio_listio64(LIO_WAIT, list, 2, NULL), 0);
    CHECK_EQ(aio_return64(&c64), sizeof in);
    CHECK_PAT(in, sizeof in, off, 5);

    struct aiocb64 f64;
    memset(&f64, 0, sizeof f64);
    f64.aio_fildes = fd;
    CHECK_EQ(aio_fsync64(O_SYNC, &f64), 0);
    l[0] = &f64;
    while (aio_error64(&f64) == EINPROGRESS)
        if (aio_suspend64(l, 1, &ts) != 0 && errno != EINTR)
            die("aio_suspend64");
    CHECK_EQ(aio_error64(&f64), 0);
    CHECK_EQ(aio_return64(&f64), 0);
    CHECK_EQ(aio_cancel64(fd, NULL), AIO_ALLDONE);
    return 0;
}
