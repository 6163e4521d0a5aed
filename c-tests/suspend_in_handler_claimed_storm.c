/* DESCRIPTION: a thread reads a pipe message by message, each read awaited alone in aio_suspend (aio-rs claims it), while a timer signal every 3 ms runs a handler that itself waits up to 1 ms (less than the period, so the interrupted thread always gets on) in aio_suspend for the same read: every message is read exactly once, in order, whichever of the two waits (or the poller) completes it, and the handler's aio_suspend returns 0, EAGAIN or EINTR only */
#include "support/sigtest.h"

enum { MSGS = 15000, MSG = 8 };

static struct aiocb cb;
static char buf[MSG];
static volatile sig_atomic_t armed, bad, took;
static int ours;
static atomic_int want;
static int p[2];

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    /* Under plain glibc, aio_suspend in a handler may wait forever on the lock the interrupted
     * aio_suspend holds: only aio-rs is asked. */
    if (armed && ours) {
        const struct aiocb *list[1] = { &cb };
        struct timespec ts = ms_ts(1);
        int r = aio_suspend(list, 1, &ts);
        if (r == 0)
            took = took + 1;
        else if (errno != EAGAIN && errno != EINTR)
            bad = errno;
    }
    errno = saved;
}

static void msg_of(int i, char *m)
{
    snprintf(m, MSG + 1, "m%07d", i);
}

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < MSGS; i++) {
        long long deadline = now_ms() + DONE_MS;
        while (atomic_load(&want) < i)
            if (now_ms() > deadline)
                return NULL;
        char m[MSG + 1];
        msg_of(i, m);
        write_all(p[1], m, MSG);
    }
    return NULL;
}

int main(void)
{
    ours = is_aio_rs((void *)aio_read);
    on_signal(SIGUSR1, handler);
    make_pipe(p);
    pthread_t w;
    CHECK_EQ(pthread_create(&w, NULL, writer, NULL), 0);
    timer_t t = thread_timer_start(SIGUSR1, 1, 3);
    for (int i = 0; i < MSGS; i++) {
        memset(buf, 0, sizeof buf);
        cb_init(&cb, p[0], buf, MSG, 0);
        CHECK_EQ(aio_read(&cb), 0);
        armed = 1;
        atomic_store(&want, i);
        const struct aiocb *list[1] = { &cb };
        long long deadline = now_ms() + DONE_MS;
        int e;
        while ((e = aio_error(&cb)) == EINPROGRESS) {
            struct timespec ts = ms_ts(DONE_MS);
            if (aio_suspend(list, 1, &ts) != 0 && errno != EINTR)
                die("aio_suspend failed: errno %d (%s) at message %d", errno, strerror(errno), i);
            if (now_ms() > deadline)
                die("message %d not read within %d ms", i, DONE_MS);
        }
        armed = 0;
        CHECK_EQ(e, 0);
        CHECK_EQ(aio_return(&cb), MSG);
        char m[MSG + 1];
        msg_of(i, m);
        if (memcmp(buf, m, MSG) != 0)
            die("message %d read as \"%.8s\"", i, buf);
    }
    thread_timer_stop(t);
    CHECK_EQ(pthread_join(w, NULL), 0);
    if (bad)
        die("the handler's aio_suspend failed with errno %d (%s)", (int)bad, strerror(bad));
    SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
    char back[1];
    CHECK_ERR(read(p[0], back, 1), EAGAIN);
    fprintf(stderr, "handler waits that saw the read done: %d of %d messages\n", (int)took, MSGS);
    return 0;
}
