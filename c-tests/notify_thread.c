/* DESCRIPTION: SIGEV_THREAD runs the callback once per request with sival_ptr, and the result is already visible */
#include "support/common.h"

#define N 100

static struct aiocb cbs[N];
static atomic_int per_req[N], total, not_done;

static void callback(union sigval v)
{
    struct aiocb *cb = v.sival_ptr;
    long i = cb - cbs;
    if (i < 0 || i >= N)
        abort();
    if (aio_error(cb) != 0 || aio_return(cb) != 64)
        atomic_fetch_add(&not_done, 1);
    atomic_fetch_add(&per_req[i], 1);
    atomic_fetch_add(&total, 1);
}

int main(void)
{
    int fd = tmp_pattern_file(N * 64, 25);
    static char bufs[N][64];
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], 64, (off_t)i * 64);
        cbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
        cbs[i].aio_sigevent.sigev_notify_function = callback;
        cbs[i].aio_sigevent.sigev_value.sival_ptr = &cbs[i];
        if (aio_read(&cbs[i]) != 0)
            die("aio_read #%d", i);
    }
    WAIT_UNTIL(atomic_load(&total) >= N, DONE_MS);
    pause_us(50000); /* grace period for duplicates */
    CHECK_EQ(atomic_load(&not_done), 0);
    for (int i = 0; i < N; i++) {
        if (atomic_load(&per_req[i]) != 1)
            die("request %d: callback ran %d times", i,
                atomic_load(&per_req[i]));
        CHECK_PAT(bufs[i], 64, (long long)i * 64, 25);
    }
    CHECK_EQ(atomic_load(&total), N);
    return 0;
}
