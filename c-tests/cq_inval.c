/* DESCRIPTION: completion queue bad input: unknown flags, descriptors that are not queues, NULL or empty output, bad timeouts, a queue as a lio_listio list notification */
#include "support/ext.h"

int main(void)
{
    cq_require();
    CHECK_ERR(x_cq_create(1), EINVAL);
    CHECK_ERR(x_cq_create(-1), EINVAL);
    int q = x_cq_create(0);
    CHECK(q >= 0);
    struct aiocb *got[4];
    struct timespec zero = {0, 0}, bad = {0, 1000000000L}, neg = {-1, 0};
    int p[2];
    make_pipe(p);
    /* not a queue: a pipe, a closed number, a negative one, the waitcomplete queue unopened */
    CHECK_ERR(x_cq_harvest(p[0], got, 4, &zero), EBADF);
    CHECK_ERR(x_cq_harvest(closed_fd(), got, 4, &zero), EBADF);
    CHECK_ERR(x_cq_harvest(-5, got, 4, &zero), EBADF);
    CHECK_ERR(x_cq_close(p[0]), EBADF);
    CHECK_ERR(x_cq_close(-5), EBADF);
    /* the pipe is still open and untouched */
    write_all(p[1], "x", 1);
    char c;
    read_all(p[0], &c, 1);
    /* bad arguments */
    CHECK_ERR(x_cq_harvest(q, NULL, 4, &zero), EINVAL);
    CHECK_ERR(x_cq_harvest(q, got, 0, &zero), EINVAL);
    CHECK_ERR(x_cq_harvest(q, got, -3, &zero), EINVAL);
    CHECK_ERR(x_cq_harvest(q, got, 4, &bad), EINVAL);
    /* a negative time has already passed, as aio_suspend reads it: nothing, at once */
    CHECK_EQ(x_cq_harvest(q, got, 4, &neg), 0);
    /* a request naming something that is not a queue */
    char buf[4];
    struct aiocb cb;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    cb_queue(&cb, p[1]);
    CHECK_ERR(aio_read(&cb), EBADF);
    cb_queue(&cb, closed_fd());
    CHECK_ERR(aio_read(&cb), EBADF);
    cb_queue(&cb, -7);
    CHECK_ERR(aio_read(&cb), EBADF);
    /* lio_listio: a queue is for requests, not for the list notification */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = AIO_RS_SIGEV_QUEUE;
    sev.sigev_signo = q;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    cb.aio_lio_opcode = LIO_READ;
    struct aiocb *list[] = {&cb};
    CHECK_ERR(lio_listio(LIO_NOWAIT, list, 1, &sev), EINVAL);
    CHECK_EQ(aio_error(&cb), 0); /* never submitted: still the zeroed status */
    /* a closed queue: its number is not a queue any more */
    CHECK_EQ(x_cq_close(q), 0);
    CHECK_ERR(x_cq_close(q), EBADF);
    CHECK_ERR(x_cq_harvest(q, got, 4, &zero), EBADF);
    cb_queue(&cb, q);
    CHECK_ERR(aio_read(&cb), EBADF);
    return 0;
}
