/* DESCRIPTION: aio_read/aio_write on a pidfd complete with the errno read/write give (EINVAL), never staying in progress */
#include "support/fdtest.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int main(void)
{
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pfd < 0) {
        if (errno == ENOSYS || errno == EPERM)
            skip("pidfd_open: %s", strerror(errno));
        die("pidfd_open");
    }
    expect_like_syscalls(pfd, "pidfd", 0);
    /* a child's pidfd, before and after the child exits */
    pid_t child = SYS(fork());
    if (child == 0) {
        pause_us(200000);
        _exit(0);
    }
    int cfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (cfd < 0)
        die("pidfd_open(child)");
    expect_like_syscalls(cfd, "pidfd of a running child", 0);
    int st;
    SYS(waitpid(child, &st, 0));
    expect_like_syscalls(cfd, "pidfd of an exited child", 0);
    return 0;
}
