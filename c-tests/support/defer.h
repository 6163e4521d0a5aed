/*
 * Helpers for the tests of reads deferred into a batch (aio-rs defers a SIGEV_NONE read of a
 * page-cached file that follows a read on another aiocb on the same descriptor; see
 * docs/ARCHITECTURE.md). Under glibc, and under a forced aio-rs backend, the same programs just
 * run the usual way: every test checks what POSIX promises, whatever the path.
 */
#ifndef AIO_CTEST_DEFER_H
#define AIO_CTEST_DEFER_H

#include "common.h"

/* Two reads, one after the other, on one aiocb of fd (the file made by tmp_pattern_file with
 * `seed`), so that aio-rs has classified the descriptor and seen a read on it: the next read on
 * another aiocb is deferred. */
CT_FN void defer_prime(int fd, unsigned seed)
{
    static char b[512];
    struct aiocb cb;
    for (int i = 0; i < 2; i++) {
        cb_init(&cb, fd, b, sizeof b, 512 * i);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, (ssize_t)sizeof b);
        CHECK_PAT(b, sizeof b, 512 * i, seed);
    }
}

/* The aiocb's status as the program sees it in the structure itself (glibc's field), without
 * calling the library. */
CT_FN int cb_field_status(const struct aiocb *cb)
{
    return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

/* Whether a request that nobody asks about completes in its aiocb by itself. Not under
 * AIO_RS_BACKEND=uring, a known limit found with these tests (on main too): there the helper
 * reaps the ring only while someone must be told, so a SIGEV_NONE request's status is written
 * only when the program calls aio_error, aio_suspend or the like. */
CT_FN int fields_complete_alone(void)
{
    const char *b = getenv("AIO_RS_BACKEND");
    return !(b && strcmp(b, "uring") == 0 && is_aio_rs((void *)aio_read));
}

#endif
