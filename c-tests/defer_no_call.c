/* DESCRIPTION: reads submitted back to back (deferred into a batch by aio-rs) complete with the right data although the submitting thread never calls the library again: it only polls the aiocbs' status fields, with a deadline */
#include "support/defer.h"

#define SEED 41
enum { N = 5, SZ = 4096 };

int main(void)
{
    if (!fields_complete_alone())
        skip("AIO_RS_BACKEND=uring: a request nobody asks about is not reaped (known limit)");
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    static char buf[N][SZ];
    struct aiocb cb[N];
    for (int i = 0; i < N; i++) {
        cb_init(&cb[i], fd, buf[i], SZ, (off_t)SZ * (7 * i + 3));
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    /* No sleep as synchronisation: a busy poll of the fields, bounded. */
    long long deadline = now_ms() + DONE_MS;
    for (int i = 0; i < N; i++) {
        while (cb_field_status(&cb[i]) == EINPROGRESS)
            if (now_ms() > deadline)
                die("read %d still in progress after %d ms without a library call", i, DONE_MS);
    }
    for (int i = 0; i < N; i++) {
        CHECK_DONE_OK(&cb[i], SZ);
        CHECK_PAT(buf[i], SZ, (long long)SZ * (7 * i + 3), SEED);
    }
    return 0;
}
