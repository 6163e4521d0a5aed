/* DESCRIPTION: where pwritev2 refuses RWF_NOSIGNAL (EOPNOTSUPP, as a kernel before 6.18 answers; a seccomp filter here), aio_write to a pipe still writes (every byte, in order), and one to a pipe whose reader is gone completes with EPIPE without delivering SIGPIPE to the program's thread or leaving one pending, with SIGPIPE handled and blocked */
#include "support/fdtest.h"
#include "support/stream.h"

#include <sys/uio.h>

#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif

static volatile sig_atomic_t sigpipes;

static void on_pipe(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    sigpipes++;
}

/* pwritev2 with RWF_NOSIGNAL fails with EOPNOTSUPP in every thread from now on. */
static void refuse_nosignal(void)
{
#ifdef FDT_AUDIT_ARCH
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FDT_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pwritev2, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* the flags, the sixth argument (its low word) */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[5])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, RWF_NOSIGNAL, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EOPNOTSUPP & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    filter_all_threads(prog, sizeof prog / sizeof prog[0]);
#else
    skip("no seccomp filter for this architecture");
#endif
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

/* One write to `wfd`, whose reading end is closed: EPIPE, no SIGPIPE here. */
static void check_epipe(int wfd, const char *what)
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
    refuse_nosignal();
    on_signal(SIGPIPE, on_pipe);
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
        check_epipe(p[1], blocked ? "pipe, SIGPIPE blocked" : "pipe");
        check_epipe(p[1], blocked ? "pipe again, SIGPIPE blocked" : "pipe again");
        close(p[1]);
    }
    return 0;
}
