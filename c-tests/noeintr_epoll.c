/* DESCRIPTION: a completion of a thread's own request (pipe, socket, uncached file) never makes its epoll_wait fail with EINTR */
#define TEST_ALARM 20
#include "support/sigtest.h"

int main(void)
{
    eintr_all_sources(B_EPOLL);
    return 0;
}
