/* DESCRIPTION: a request for a completion queue that fails at once (a closed descriptor, a negative offset: accepted, then completed with that error) is put on the queue like any other */
#include "support/ext.h"

int main(void)
{
    cq_require();
    int q;
    int ep = cq_epoll(&q);
    char buf[8];
    struct aiocb bad_fd, bad_off;
    cb_init(&bad_fd, closed_fd(), buf, sizeof buf, 0);
    cb_queue(&bad_fd, q);
    int fd = tmp_pattern_file(64, 2);
    cb_init(&bad_off, fd, buf, sizeof buf, -1);
    cb_queue(&bad_off, q);
    if (aio_read(&bad_fd) != 0 || aio_read(&bad_off) != 0) {
        /* An implementation may refuse them at submission instead; then nothing is queued. */
        struct aiocb *got[2];
        struct timespec zero = {0, 0};
        CHECK_EQ(x_cq_harvest(q, got, 2, &zero), 0);
        skip("these requests are refused at submission here");
    }
    CHECK(ep_ready(ep, DONE_MS));
    struct aiocb *got[4];
    int n = 0;
    long long deadline = now_ms() + DONE_MS;
    while (n < 2 && now_ms() < deadline) {
        struct timespec ts = ms_ts(200);
        int k = x_cq_harvest(q, got + n, 4 - n, &ts);
        CHECK(k >= 0);
        n += k;
    }
    CHECK_EQ(n, 2);
    CHECK((got[0] == &bad_fd && got[1] == &bad_off) || (got[0] == &bad_off && got[1] == &bad_fd));
    CHECK_EQ(aio_error(&bad_fd), EBADF);
    CHECK_EQ(aio_error(&bad_off), EINVAL);
    CHECK_EQ(aio_return(&bad_fd), -1);
    cq_quiet(ep, q);
    return 0;
}
