/* DESCRIPTION: a NULL aiocb makes aio_read/aio_write/aio_fsync/aio_error/aio_return fail with EINVAL */
/* GLIBC-XFAIL: glibc dereferences the NULL aiocb and crashes (SIGSEGV) */
#include "support/common.h"

static struct aiocb *volatile null_cb; /* volatile: hide NULL from nonnull */

enum { OP_READ, OP_WRITE, OP_FSYNC, OP_ERROR, OP_RETURN, OP_N };
static const char *names[OP_N] = { "aio_read", "aio_write", "aio_fsync",
                                   "aio_error", "aio_return" };

static long op(int which)
{
    switch (which) {
    case OP_READ: return aio_read(null_cb);
    case OP_WRITE: return aio_write(null_cb);
    case OP_FSYNC: return aio_fsync(O_SYNC, null_cb);
    case OP_ERROR: return aio_error(null_cb);
    default: return aio_return(null_cb);
    }
}

int main(void)
{
    int bad = 0;
    for (int i = 0; i < OP_N; i++) {
        /* run each call in a child so a crash is reported, not fatal */
        pid_t pid = SYS(fork());
        if (pid == 0) {
            errno = 0;
            long r = op(i);
            _exit(r == -1 && errno == EINVAL ? 0 : 1);
        }
        int st;
        SYS(waitpid(pid, &st, 0));
        if (WIFSIGNALED(st)) {
            fprintf(stderr, "%s(NULL) crashed with signal %d\n", names[i],
                    WTERMSIG(st));
            bad = 1;
        } else if (WEXITSTATUS(st) != 0) {
            fprintf(stderr, "%s(NULL) did not fail with EINVAL\n", names[i]);
            bad = 1;
        }
    }
    return bad;
}
