/* DESCRIPTION: aio_cancel of a pending pipe read gives AIO_CANCELED, ECANCELED, -1, and one SIGEV_SIGNAL */
/* GLIBC-XFAIL: glibc cannot cancel a request its worker thread is already blocked in (returns AIO_NOTCANCELED) */
#include "support/common.h"

static struct aiocb cb;
static volatile sig_atomic_t count, err_seen = -1;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (si->si_value.sival_ptr == &cb) {
        err_seen = aio_error(&cb);
        count++;
    }
}

int main(void)
{
    int sig = SIGRTMIN + 5;
    on_signal(sig, handler);
    int p[2];
    make_pipe(p);
    char buf[16];
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    cb_signal(&cb, sig);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    int r = aio_cancel(p[0], &cb);
    if (r != AIO_CANCELED) {
        write_all(p[1], "unblock", 7); /* let the request finish */
        wait_done(&cb);
        die("aio_cancel returned %d, expected AIO_CANCELED (%d)", r,
            AIO_CANCELED);
    }
    CHECK_EQ(aio_error(&cb), ECANCELED);
    CHECK_EQ(aio_return(&cb), -1);
    WAIT_UNTIL(count > 0, DONE_MS);
    CHECK_EQ(err_seen, ECANCELED);
    /* the cancelled read must not consume data written afterwards */
    write_all(p[1], "after", 5);
    char back[5];
    read_all(p[0], back, 5);
    CHECK(memcmp(back, "after", 5) == 0);
    pause_us(50000); /* grace period for a duplicate notification */
    CHECK_EQ(count, 1);
    /* cancelling it again: it is finished now */
    CHECK_EQ(aio_cancel(p[0], &cb), AIO_ALLDONE);
    return 0;
}
