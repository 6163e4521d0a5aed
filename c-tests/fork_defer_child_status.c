/* DESCRIPTION: fork right after reads were deferred into a batch: the child sees each of the parent's requests as it was at the fork (in progress, or done with the right data), never completes or reads into one that was in progress, and its aio_suspend on them times out (EAGAIN) instead of hanging; the parent sees each complete once with the right data */
/* GLIBC-XFAIL: glibc's child can hang in aio_suspend on the parent's requests (once in some 25 glibc runs, under CI load; probably a lock of glibc's that a worker thread held at the fork) */
#include "support/defer.h"
#include <sys/wait.h>

#define SEED 63
enum { N = 8, SZ = 4096, ROUNDS = 5 };

static off_t off_of(int round, int i) { return (off_t)SZ * (13 * i + round); }

/* Each byte is 0 or the pattern's: a read under way in the parent at the fork (a worker's pread)
 * may have copied part of its data into the pages the child got. */
static int zero_or_pat(const char *b, size_t n, long long off)
{
    for (size_t k = 0; k < n; k++)
        if (b[k] && (unsigned char)b[k] != pat_byte(off + (long long)k, SEED))
            return 0;
    return 1;
}

static int is_pat(const char *b, size_t n, long long off)
{
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)b[k] != pat_byte(off + (long long)k, SEED))
            return 0;
    return 1;
}

/* The child's checks; an exit status other than 0 names what failed. */
static int child(struct aiocb *cb, char (*buf)[SZ], int round)
{
    int was[N];
    static char seen[N][SZ];
    for (int i = 0; i < N; i++) {
        was[i] = aio_error(&cb[i]);
        memcpy(seen[i], buf[i], SZ);
        if (was[i] == 0) {
            if (aio_return(&cb[i]) != SZ || !is_pat(buf[i], SZ, off_of(round, i)))
                return 10 + i;
        } else if (was[i] != EINPROGRESS) {
            return 20 + i;
        } else if (!zero_or_pat(buf[i], SZ, off_of(round, i))) {
            return 30 + i;
        }
    }
    /* glibc's AIO is not usable in a child forked with requests in flight (its lock may be
     * held by a thread that the child does not have): only the fields are read there. */
    if (is_aio_rs((void *)aio_read)) {
        for (int i = 0; i < N; i++) {
            if (was[i] != EINPROGRESS)
                continue;
            const struct aiocb *list[1] = { &cb[i] };
            struct timespec ts = ms_ts(50);
            errno = 0;
            if (aio_suspend(list, 1, &ts) != -1 || errno != EAGAIN)
                return 40 + i;
        }
    }
    for (int i = 0; i < N; i++) {
        if (aio_error(&cb[i]) != was[i])
            return 50 + i;
        if (memcmp(seen[i], buf[i], SZ) != 0)
            return 60 + i;
    }
    return 0;
}

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    for (int round = 0; round < ROUNDS; round++) {
        static char buf[N][SZ];
        struct aiocb cb[N];
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < N; i++) {
            cb_init(&cb[i], fd, buf[i], SZ, off_of(round, i));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(child(cb, buf, round));
        int st = wait_child_ms(pid, 2 * DONE_MS, "child");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("round %d: the child failed (status 0x%x: 1x done wrong, 2x bad status, "
                "3x touched, 4x aio_suspend did not time out, 5x status changed, "
                "6x buffer changed; x = request)", round, st);
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(buf[i], SZ, (long long)off_of(round, i), SEED);
        }
    }
    return 0;
}
