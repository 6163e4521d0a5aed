/* DESCRIPTION: aio_read/aio_write on a pidfd complete with the errno read/write give (EINVAL), never staying in progress */
#include "support/fdtest.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void like_syscalls(int fd, const char *name)
{
    char buf[64] = { 0 }, what[96];
    int e = SYS_ERRNO(read(fd, buf, sizeof buf));
    snprintf(what, sizeof what, "%s: aio_read", name);
    expect_errno(aio_rw(fd, 0, buf, sizeof buf, 0, what), e, what);
    e = SYS_ERRNO(write(fd, buf, sizeof buf));
    snprintf(what, sizeof what, "%s: aio_write", name);
    expect_errno(aio_rw(fd, 1, buf, sizeof buf, 0, what), e, what);
}

int main(void)
{
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pfd < 0) {
        if (errno == ENOSYS || errno == EPERM)
            skip("pidfd_open: %s", strerror(errno));
        die("pidfd_open");
    }
    like_syscalls(pfd, "pidfd");
    /* a child's pidfd, before and after the child exits */
    pid_t child = SYS(fork());
    if (child == 0) {
        pause_us(200000);
        _exit(0);
    }
    int cfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (cfd < 0)
        die("pidfd_open(child)");
    like_syscalls(cfd, "pidfd of a running child");
    int st;
    SYS(waitpid(child, &st, 0));
    like_syscalls(cfd, "pidfd of an exited child");
    return 0;
}
