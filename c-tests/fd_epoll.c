/* DESCRIPTION: aio_read/aio_write on an epoll descriptor (empty, or with a ready member) complete with the errno read/write give (EINVAL), never staying in progress */
#include "support/fdtest.h"
#include <sys/epoll.h>

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
    int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
    like_syscalls(ep, "epoll fd");
    /* an epoll set with a ready member reads no differently */
    int p[2];
    make_pipe(p);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    write_all(p[1], "x", 1);
    like_syscalls(ep, "epoll fd with a ready member");

    return 0;
}
