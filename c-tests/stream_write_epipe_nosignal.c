/* DESCRIPTION: aio_write to a pipe or socket whose reader is gone completes with EPIPE and never delivers SIGPIPE to the program's threads, nor leaves one pending */
#include "support/common.h"
#include "support/stream.h"
#include <sys/syscall.h>

int main(void)
{
    count_sigpipes();
    int p[2];
    make_pipe(p);
    SYS(close(p[0]));
    check_write_epipe(p[1], "pipe");
    int s[2];
    make_socketpair(s);
    SYS(close(s[1]));
    check_write_epipe(s[0], "socket");

    /* The same with SIGPIPE blocked by the program: nothing left pending. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    SYS(pthread_sigmask(SIG_BLOCK, &set, NULL));
    check_write_epipe(p[1], "pipe, SIGPIPE blocked");
    check_write_epipe(s[0], "socket, SIGPIPE blocked");
    return 0;
}
