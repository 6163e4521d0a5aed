/* DESCRIPTION: the parent's pending requests live in MAP_SHARED memory (a pipe read, a socket read, reads just deferred into a batch); a fork child calls aio_error, aio_cancel (by aiocb and by fd), aio_suspend and aio_return on them: the child never cancels, completes or writes them, and in the parent each completes exactly once with its data */
#include "support/defer.h"
#include "support/stream.h"
#include <sys/mman.h>

#define SEED 62
enum { ND = 4, SZ = 4096 };

struct shared {
    struct aiocb pipe_cb, sock_cb, file_cb[ND];
    char pipe_buf[16], sock_buf[16];
    char file_buf[ND][SZ];
};

/* The program's fields of an aiocb, which the child must leave alone. (The implementation's own
 * words may change meanwhile: the parent's library goes on working on its requests.) */
static int same_fields(const struct aiocb *a, const struct aiocb *b)
{
    return a->aio_fildes == b->aio_fildes && a->aio_lio_opcode == b->aio_lio_opcode &&
           a->aio_reqprio == b->aio_reqprio && a->aio_buf == b->aio_buf &&
           a->aio_nbytes == b->aio_nbytes && a->aio_offset == b->aio_offset &&
           memcmp(&a->aio_sigevent, &b->aio_sigevent, sizeof a->aio_sigevent) == 0 &&
           a->__error_code == b->__error_code && a->__return_value == b->__return_value;
}

static int child(struct shared *s, int pfd, int sfd, int ffd)
{
    struct aiocb before_p = s->pipe_cb, before_s = s->sock_cb;
    if (aio_error(&s->pipe_cb) != EINPROGRESS || aio_error(&s->sock_cb) != EINPROGRESS)
        return 10;
    for (int i = 0; i < ND; i++) {
        int e = aio_error(&s->file_cb[i]);
        if (e != EINPROGRESS && e != 0)
            return 11;
    }
    int r = aio_cancel(pfd, &s->pipe_cb);
    if (r == AIO_CANCELED)
        return 12;
    r = aio_cancel(sfd, NULL);
    if (r == AIO_CANCELED)
        return 13;
    r = aio_cancel(ffd, NULL);
    if (r == AIO_CANCELED)
        return 14;
    const struct aiocb *list[2] = { &s->pipe_cb, &s->sock_cb };
    struct timespec ts = ms_ts(30);
    r = aio_suspend(list, 2, &ts);
    if (r != 0 && errno != EAGAIN)
        return 15;
    /* The parent's fields are not this process's to change. */
    if (aio_error(&s->pipe_cb) != EINPROGRESS || !same_fields(&before_p, &s->pipe_cb))
        return 16;
    if (aio_error(&s->sock_cb) != EINPROGRESS || !same_fields(&before_s, &s->sock_cb))
        return 17;
    /* The child's own AIO works on the same descriptors. */
    struct aiocb own;
    static char b[SZ];
    cb_init(&own, ffd, b, SZ, SZ * 40);
    if (aio_read(&own) != 0)
        return 18;
    wait_done(&own);
    if (aio_error(&own) != 0 || aio_return(&own) != SZ)
        return 19;
    if (!same_fields(&before_p, &s->pipe_cb) || !same_fields(&before_s, &s->sock_cb))
        return 20;
    return 0;
}

int main(void)
{
    int ffd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(ffd, SEED);
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (s == MAP_FAILED)
        die("mmap");
    for (int round = 0; round < 4; round++) {
        int p[2], sp[2];
        make_pipe(p);
        make_socketpair(sp);
        memset(s, 0, sizeof *s);
        cb_init(&s->pipe_cb, p[0], s->pipe_buf, sizeof s->pipe_buf, 0);
        cb_init(&s->sock_cb, sp[0], s->sock_buf, sizeof s->sock_buf, 0);
        CHECK_EQ(aio_read(&s->pipe_cb), 0);
        CHECK_EQ(aio_read(&s->sock_cb), 0);
        if (round & 1) {
            /* The thread waits for the pipe read alone first, so its next reads may be left for
             * it to claim. */
            const struct aiocb *l[1] = { &s->pipe_cb };
            struct timespec ts = ms_ts(5);
            CHECK(aio_suspend(l, 1, &ts) == -1 && errno == EAGAIN);
        }
        for (int i = 0; i < ND; i++) {
            cb_init(&s->file_cb[i], ffd, s->file_buf[i], SZ, (off_t)SZ * (3 * i + round + 5));
            CHECK_EQ(aio_read(&s->file_cb[i]), 0);
        }
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(is_aio_rs((void *)aio_read) ? child(s, p[0], sp[0], ffd) : 0);
        wait_child_ok(pid, "child");
        CHECK_EQ(aio_error(&s->pipe_cb), EINPROGRESS);
        CHECK_EQ(aio_error(&s->sock_cb), EINPROGRESS);
        write_all(p[1], "pipe-data", 9);
        write_all(sp[1], "sock-data", 9);
        wait_done(&s->pipe_cb);
        wait_done(&s->sock_cb);
        CHECK_DONE_OK(&s->pipe_cb, 9);
        CHECK_DONE_OK(&s->sock_cb, 9);
        CHECK(memcmp(s->pipe_buf, "pipe-data", 9) == 0);
        CHECK(memcmp(s->sock_buf, "sock-data", 9) == 0);
        for (int i = 0; i < ND; i++) {
            wait_done(&s->file_cb[i]);
            CHECK_DONE_OK(&s->file_cb[i], SZ);
            CHECK_PAT(s->file_buf[i], SZ, (long long)SZ * (3 * i + round + 5), SEED);
        }
        /* Nothing else was read from the streams. */
        char c;
        CHECK_ERR(recv(sp[0], &c, 1, MSG_DONTWAIT), EAGAIN);
        int fl = fcntl(p[0], F_GETFL);
        SYS(fcntl(p[0], F_SETFL, fl | O_NONBLOCK));
        CHECK_ERR(read(p[0], &c, 1), EAGAIN);
        close(p[0]);
        close(p[1]);
        close(sp[0]);
        close(sp[1]);
    }
    return 0;
}
