/* DESCRIPTION: a completion of a thread's own request (pipe, socket, uncached file) never makes its sigtimedwait/sigwaitinfo fail with EINTR */
#define TEST_ALARM 30
#include "support/sigtest.h"

int main(void)
{
    eintr_all_sources(B_SIGTIMEDWAIT);
    eintr_all_sources(B_SIGWAITINFO);
    return 0;
}
