/* DESCRIPTION: aio_read/aio_write on an epoll descriptor (empty, or with a ready member) complete with the errno read/write give (EINVAL), never staying in progress */
#include "support/fdtest.h"
#include <sys/epoll.h>

int main(void)
{
    int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
    expect_like_syscalls(ep, "epoll fd", 0);
    /* an epoll set with a ready member reads no differently */
    int p[2];
    make_pipe(p);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    write_all(p[1], "x", 1);
    expect_like_syscalls(ep, "epoll fd with a ready member", 0);

    return 0;
}
