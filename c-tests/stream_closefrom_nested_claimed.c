/* DESCRIPTION: while a signal handler waits in aio_suspend on the pipe read its interrupted thread was asleep on alone (claimed by aio-rs), another thread closes every descriptor above the program's (closefrom over the library's numbers): the read ends exactly once (the byte written afterwards read, or ECANCELED with the byte left), the handler's aio_suspend returns well before its timeout, and the library works again on the pipe */
#include "support/fdtest.h"
#include "support/sigtest.h"

enum { INNER_MS = 6000 };

static struct aiocb cb;
static char buf[8];
static atomic_int tid, in_handler, inner_done, outer_done;
static struct timed_wait inner;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&in_handler, 1);
    timed_suspend(list, 1, INNER_MS, &inner);
    atomic_store(&inner_done, 1);
}

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    struct timespec ts = ms_ts(4 * DONE_MS);
    while (aio_error(&cb) == EINPROGRESS)
        if (aio_suspend(list, 1, &ts) != 0 && errno != EINTR)
            break;
    atomic_store(&outer_done, 1);
    return NULL;
}

int main(void)
{
    on_signal(SIGUSR1, handler);
    int p[2];
    make_pipe(p);
    CHECK(p[0] < 64 && p[1] < 64);
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    pthread_t t = start_then_signal(sleeper, NULL, &tid, SIGUSR1);
    WAIT_UNTIL(atomic_load(&in_handler) != 0, DONE_MS);
    /* The handler is asleep in its aio_suspend (or about to be). */
    wait_thread_sleeping(atomic_load(&tid), &inner_done, DONE_MS);
    close_from(64);
    write_all(p[1], "x", 1);
    WAIT_UNTIL(atomic_load(&inner_done) != 0, INNER_MS + DONE_MS);
    check_timed_wait_quick(&inner, INNER_MS, "the handler's aio_suspend");
    WAIT_UNTIL(atomic_load(&outer_done) != 0, DONE_MS);
    CHECK_EQ(pthread_join(t, NULL), 0);
    check_x_read_or_left(&cb, buf, p[0]);
    /* Nothing else was taken, and the library works again on the same pipe. */
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    write_all(p[1], "yz", 2);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 2);
    CHECK(memcmp(buf, "yz", 2) == 0);
    check_pipe_read_once(p);
    return 0;
}
