/* DESCRIPTION: a process stopped and continued (SIGSTOP/SIGCONT, no handler) three times while it sleeps in aio_suspend on its lone pipe read, with reads deferred into a batch and (RLIMIT_NPROC reached: no thread can be made) buffered writes in flight: aio_suspend does not fail with EINTR, it returns once the pipe's data comes, and every accepted request completes once with the right data */
#define TEST_ALARM 20
#include "support/fdtest.h"
#include "support/sigtest.h"
#include "support/defer.h"

#define SEED 64
enum { N = 8, W = 8, SZ = 4096 };

static int data_rd, report_wr, fd, wfd;

/* The child: the requests, one aio_suspend, the checks; exit 0, 77 (skip) or a failure. */
static int child(void)
{
    defer_prime(fd, SEED);
    /* The pipe read first: a submission that is not deferred would flush the batch. */
    char pbuf[8] = { 0 };
    struct aiocb pcb;
    cb_init(&pcb, data_rd, pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&pcb), 0);
    struct rlimit old;
    limit_threads_to_none(&old);
    static char wbuf[W][SZ];
    struct aiocb wcb[W];
    int accepted[W];
    for (int i = 0; i < W; i++) {
        pat_fill(wbuf[i], SZ, (long long)i * SZ, SEED + 1);
        cb_init(&wcb[i], wfd, wbuf[i], SZ, (off_t)i * SZ);
        errno = 0;
        int r = aio_write(&wcb[i]);
        if (r != 0 && errno != EAGAIN)
            die("aio_write %d: %d", i, r);
        accepted[i] = r == 0;
    }
    int n_acc = 0;
    for (int i = 0; i < W; i++)
        n_acc += accepted[i];
    printf("%d of %d writes accepted with no thread creatable\n", n_acc, W);
    fflush(stdout);
    static char rbuf[N][SZ];
    struct aiocb rcb[N];
    for (int i = 0; i < N; i++) {
        cb_init(&rcb[i], fd, rbuf[i], SZ, (off_t)SZ * (5 * i + 3));
        CHECK_EQ(aio_read(&rcb[i]), 0);
    }
    const struct aiocb *list[1] = { &pcb };
    pid_t me = getpid();
    write_all(report_wr, &me, sizeof me);
    errno = 0;
    int r = aio_suspend(list, 1, NULL);
    if (r != 0)
        die("aio_suspend returned %d errno %d (%s)", r, errno, strerror(errno));
    CHECK_DONE_OK(&pcb, 4);
    CHECK(memcmp(pbuf, "done", 4) == 0);
    for (int i = 0; i < N; i++) {
        wait_done(&rcb[i]);
        CHECK_DONE_OK(&rcb[i], SZ);
        CHECK_PAT(rbuf[i], SZ, (long long)SZ * (5 * i + 3), SEED);
    }
    static char back[SZ];
    for (int i = 0; i < W; i++) {
        if (!accepted[i])
            continue;
        wait_done(&wcb[i]);
        CHECK_DONE_OK(&wcb[i], SZ);
        CHECK_EQ(pread(wfd, back, SZ, (off_t)i * SZ), SZ);
        CHECK_PAT(back, SZ, (long long)i * SZ, SEED + 1);
    }
    return 0;
}

int main(void)
{
    int data[2], report[2];
    make_pipe(data);
    make_pipe(report);
    fd = tmp_pattern_file(1 << 20, SEED);
    wfd = tmp_open(0);
    data_rd = data[0];
    report_wr = report[1];
    fflush(NULL);
    pid_t pid = SYS(fork());
    if (pid == 0) {
        /* Its own group: as root the requests are made by its unprivileged child, which the
         * stops must reach too. */
        alarm(TEST_ALARM);
        setpgid(0, 0);
        close(data[1]);
        close(report[0]);
        _exit(run_where_nproc_binds(child));
    }
    setpgid(pid, pid);
    close(data[0]);
    close(report[1]);
    pid_t sleeper;
    if (read(report[0], &sleeper, sizeof sleeper) != (ssize_t)sizeof sleeper) {
        /* The child ended before its wait: skipped or failed. */
        int st = wait_child_ms(pid, DONE_MS, "child");
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
            skip("RLIMIT_NPROC does not bind here");
        die("the child ended before its aio_suspend (status 0x%x)", st);
    }
    /* The process that sleeps in aio_suspend: the child, or its unprivileged child (as root). */
    wait_proc_sleeping(sleeper, DONE_MS);
    int st = 0, exited = 0;
    for (int i = 0; i < 3 && !exited; i++) {
        SYS(kill(-pid, SIGSTOP));
        SYS(waitpid(pid, &st, WUNTRACED));
        if (!WIFSTOPPED(st)) {
            exited = 1;
            break;
        }
        pause_us(50000);
        SYS(kill(-pid, SIGCONT));
    }
    if (exited)
        die("the child ended while stopped and continued (status 0x%x)", st);
    write_all(data[1], "done", 4);
    st = wait_child_ms(pid, 2 * DONE_MS, "child");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        skip("RLIMIT_NPROC does not bind here");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("the child failed (status 0x%x)", st);
    return 0;
}
