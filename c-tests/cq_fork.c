/* DESCRIPTION: a completion queue is not inherited across fork: in the child its descriptor answers EBADF and a new queue works; in the parent the queue goes on, and its pending request completes there */
#include "support/ext.h"

int main(void)
{
    cq_require();
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int p[2];
    make_pipe(p);
    char buf[8];
    struct aiocb rd;
    cb_init(&rd, p[0], buf, sizeof buf, 0);
    cb_queue(&rd, q);
    CHECK_EQ(aio_read(&rd), 0);
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        struct aiocb *got[2];
        struct timespec zero = {0, 0};
        errno = 0;
        if (x_cq_harvest(q, got, 2, &zero) != -1 || errno != EBADF)
            _exit(2);
        /* a request naming it is refused too */
        struct aiocb cb;
        char c;
        int fd = tmp_pattern_file(16, 1);
        cb_init(&cb, fd, &c, 1, 0);
        cb_queue(&cb, q);
        if (aio_read(&cb) != -1 || errno != EBADF)
            _exit(3);
        /* a queue of its own works */
        int q2 = x_cq_create(0);
        if (q2 < 0)
            _exit(4);
        cb_queue(&cb, q2);
        if (aio_read(&cb) != 0)
            _exit(5);
        struct timespec ts = ms_ts(DONE_MS);
        if (x_cq_harvest(q2, got, 2, &ts) != 1 || got[0] != &cb || aio_return(&cb) != 1)
            _exit(6);
        _exit(0);
    }
    int st;
    SYS(waitpid(child, &st, 0));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child failed (status %#x)", st);
    /* the parent's queue and request are untouched */
    write_all(p[1], "parent", 6);
    struct aiocb *got[2];
    struct timespec ts = ms_ts(DONE_MS);
    CHECK_EQ(x_cq_harvest(q, got, 2, &ts), 1);
    CHECK(got[0] == &rd);
    CHECK_DONE_OK(&rd, 6);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
