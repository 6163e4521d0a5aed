/* DESCRIPTION: aio_read/aio_write on fd -1 or a closed fd are accepted (as glibc does) and report EBADF through aio_error, aio_return and one notification (SIGEV_SIGNAL, SIGEV_THREAD) */
#include "support/common.h"

static atomic_int by_signal, by_thread, err_in_callback = -1;
static struct aiocb cb;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (si->si_value.sival_ptr == &cb)
        atomic_fetch_add(&by_signal, 1);
}

static void callback(union sigval v)
{
    if (v.sival_ptr == &cb) {
        atomic_store(&err_in_callback, aio_error(&cb));
        atomic_fetch_add(&by_thread, 1);
    }
}

int main(void)
{
    int sig = SIGRTMIN + 7;
    on_signal(sig, handler);
    int fds[2] = { -1, closed_fd() };
    const char *fdname[2] = { "fd -1", "a closed fd" };
    int (*submit[2])(struct aiocb *) = { aio_read, aio_write };
    const char *opname[2] = { "aio_read", "aio_write" };
    char buf[64] = { 0 };
    for (int f = 0; f < 2; f++)
        for (int o = 0; o < 2; o++)
            for (int how = 0; how < 2; how++) {
                cb_init(&cb, fds[f], buf, sizeof buf, 0);
                if (how == 0) {
                    cb_signal(&cb, sig);
                } else {
                    cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
                    cb.aio_sigevent.sigev_notify_function = callback;
                    cb.aio_sigevent.sigev_value.sival_ptr = &cb;
                }
                atomic_store(&by_signal, 0);
                atomic_store(&by_thread, 0);
                atomic_store(&err_in_callback, -1);
                errno = 0;
                int r = submit[o](&cb);
                if (r != 0)
                    die("%s on %s returned %d errno %d (%s); glibc accepts it "
                        "and reports EBADF through aio_error", opname[o],
                        fdname[f], r, errno, strerror(errno));
                wait_done(&cb);
                if (aio_error(&cb) != EBADF)
                    die("%s on %s: aio_error %d, expected EBADF", opname[o],
                        fdname[f], aio_error(&cb));
                CHECK_EQ(aio_return(&cb), -1);
                if (how == 0) {
                    WAIT_UNTIL(atomic_load(&by_signal) >= 1, DONE_MS);
                } else {
                    WAIT_UNTIL(atomic_load(&by_thread) >= 1, DONE_MS);
                    CHECK_EQ(atomic_load(&err_in_callback), EBADF);
                }
                pause_us(20000); /* grace period for a duplicate */
                CHECK_EQ(atomic_load(&by_signal) + atomic_load(&by_thread), 1);
            }
    return 0;
}
