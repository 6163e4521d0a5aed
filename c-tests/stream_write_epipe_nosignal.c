/* DESCRIPTION: aio_write to a pipe or socket whose reader is gone completes with EPIPE and never delivers SIGPIPE to the program's threads, nor leaves one pending */
#include "support/common.h"
#include "support/stream.h"
#include <sys/syscall.h>

static volatile sig_atomic_t sigpipes;

static void on_pipe(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    sigpipes++;
}

/* One write to `wfd`, whose reading end is closed: EPIPE, no SIGPIPE here. */
static void check_one(int wfd, const char *what)
{
    char msg[32] = "nobody reads this";
    struct aiocb w;
    cb_init(&w, wfd, msg, sizeof msg, 0);
    CHECK_EQ(aio_write(&w), 0);
    wait_done(&w);
    if (aio_error(&w) != EPIPE)
        die("%s: aio_error %d, expected EPIPE", what, aio_error(&w));
    CHECK_EQ(aio_return(&w), -1);
    if (sigpipes)
        die("%s: SIGPIPE was delivered to the program's thread", what);
    sigset_t pend;
    SYS(sigpending(&pend));
    if (sigismember(&pend, SIGPIPE))
        die("%s: a SIGPIPE was left pending", what);
}

int main(void)
{
    on_signal(SIGPIPE, on_pipe);
    int p[2];
    make_pipe(p);
    SYS(close(p[0]));
    check_one(p[1], "pipe");
    int s[2];
    make_socketpair(s);
    SYS(close(s[1]));
    check_one(s[0], "socket");

    /* The same with SIGPIPE blocked by the program: nothing left pending. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    SYS(pthread_sigmask(SIG_BLOCK, &set, NULL));
    check_one(p[1], "pipe, SIGPIPE blocked");
    check_one(s[0], "socket, SIGPIPE blocked");
    return 0;
}
