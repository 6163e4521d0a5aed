/* DESCRIPTION: where pwritev2 refuses RWF_NOSIGNAL (EOPNOTSUPP, as a kernel before 6.18 answers; a seccomp filter here), aio_write to a pipe still writes (every byte, in order), and one to a pipe whose reader is gone completes with EPIPE without delivering SIGPIPE to the program's thread or leaving one pending, with SIGPIPE handled and blocked */
#include "support/fdtest.h"
#include "support/stream.h"

#include <sys/uio.h>

#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif

/* pwritev2 with RWF_NOSIGNAL fails with EOPNOTSUPP in every thread from now on. */
static void refuse_nosignal(void)
{
    refuse_syscall_arg_all_threads(SYS_pwritev2, 5, RWF_NOSIGNAL, 1, EOPNOTSUPP);
    int p[2];
    make_pipe(p);
    struct iovec v = { "x", 1 };
    if (pwritev2(p[1], &v, 1, -1, RWF_NOSIGNAL) != -1 || errno != EOPNOTSUPP)
        die("the filter does not refuse RWF_NOSIGNAL");
    CHECK_EQ(pwritev2(p[1], &v, 1, -1, 0), 1);
    close(p[0]);
    close(p[1]);
}

static void write_one(int fd, const char *msg, size_t n)
{
    struct aiocb w;
    cb_init(&w, fd, (void *)msg, n, 0);
    CHECK_EQ(aio_write(&w), 0);
    wait_done(&w);
    CHECK_DONE_OK(&w, (ssize_t)n);
}

int main(void)
{
    refuse_nosignal();
    count_sigpipes();
    for (int blocked = 0; blocked < 2; blocked++) {
        if (blocked) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            SYS(pthread_sigmask(SIG_BLOCK, &set, NULL));
        }
        int p[2];
        make_pipe(p);
        for (int i = 0; i < 20; i++) {
            char msg[8];
            snprintf(msg, sizeof msg, "m%05d", i);
            write_one(p[1], msg, 6);
            char got[8] = { 0 };
            read_all(p[0], got, 6);
            CHECK(memcmp(got, msg, 6) == 0);
        }
        SYS(close(p[0]));
        check_write_epipe(p[1], blocked ? "pipe, SIGPIPE blocked" : "pipe");
        check_write_epipe(p[1], blocked ? "pipe again, SIGPIPE blocked" : "pipe again");
        close(p[1]);
    }
    return 0;
}
