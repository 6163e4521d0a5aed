/* DESCRIPTION: a completion of a thread's own request (pipe, socket, uncached file) never makes its recv/accept with SO_RCVTIMEO fail with EINTR */
#define TEST_ALARM 30
#include "support/sigtest.h"

int main(void)
{
    eintr_all_sources(B_RECV);
    eintr_all_sources(B_ACCEPT);
    return 0;
}
