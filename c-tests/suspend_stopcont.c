/* DESCRIPTION: aio_suspend in a process that is stopped and continued (SIGSTOP/SIGCONT, no handler) does not fail with EINTR: it keeps waiting, to the completion or to its original deadline */
#define TEST_ALARM 20
#include "support/sigtest.h"

#define TIMEOUT_MS 1000

enum mode { UNTIL_TIMEOUT, UNTIL_DONE, NO_TIMEOUT };
static const char *mode_name[] = { "1 s timeout that expires",
                                   "1 s timeout, completes",
                                   "no timeout, completes" };

/* The child: one pending pipe read, one aio_suspend; checks its result. */
static void child(enum mode m, int rfd, int report)
{
    char buf[8];
    struct aiocb cb;
    cb_init(&cb, rfd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(m == UNTIL_DONE ? 8000 : TIMEOUT_MS);
    write_all(report, "r", 1);
    long long t0 = now_ms();
    errno = 0;
    int r = aio_suspend(list, 1, m == NO_TIMEOUT ? NULL : &ts);
    int e = errno;
    long long dt = now_ms() - t0;
    if (m == UNTIL_TIMEOUT) {
        if (r != -1 || e != EAGAIN)
            die("%s: aio_suspend returned %d errno %d (%s) after %lld ms, "
                "expected EAGAIN at the deadline", mode_name[m], r, e,
                strerror(e), dt);
        /* the deadline is kept: stopped time counts, nothing restarts the
         * full timeout after a continue */
        if (dt < TIMEOUT_MS - 1 || dt > TIMEOUT_MS + 350)
            die("%s: returned after %lld ms", mode_name[m], dt);
    } else {
        if (r != 0)
            die("%s: aio_suspend returned %d errno %d (%s) after %lld ms",
                mode_name[m], r, e, strerror(e), dt);
        CHECK_DONE_OK(&cb, 4);
        CHECK(memcmp(buf, "done", 4) == 0);
    }
    _exit(0);
}

static void run(enum mode m)
{
    int data[2], report[2];
    make_pipe(data);
    make_pipe(report);
    long long t0 = now_ms();
    pid_t pid = SYS(fork());
    if (pid == 0) {
        close(data[1]);
        close(report[0]);
        child(m, data[0], report[1]);
    }
    close(data[0]);
    close(report[1]);
    char c;
    read_all(report[0], &c, 1);
    wait_proc_sleeping(pid, DONE_MS);
    /* Three stops of 100 ms each, 100 ms apart: the child is stopped in
     * aio_suspend and continued; no handler runs. */
    int st = 0, exited = 0;
    for (int i = 0; i < 3 && !exited; i++) {
        SYS(kill(pid, SIGSTOP));
        SYS(waitpid(pid, &st, WUNTRACED));
        if (!WIFSTOPPED(st)) {
            exited = 1;
            break;
        }
        pause_us(100000);
        SYS(kill(pid, SIGCONT));
        if (i < 2)
            pause_us(100000);
    }
    if (m == UNTIL_TIMEOUT && now_ms() - t0 > TIMEOUT_MS - 200)
        skip("the stops took too long to leave time before the deadline");
    if (!exited && m != UNTIL_TIMEOUT)
        write_all(data[1], "done", 4);
    if (!exited) {
        /* bounded by the watchdog */
        do
            SYS(waitpid(pid, &st, 0));
        while (!WIFEXITED(st) && !WIFSIGNALED(st));
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s: the child failed (status 0x%x)", mode_name[m], st);
    close(data[1]);
    close(report[0]);
}

int main(void)
{
    run(UNTIL_TIMEOUT);
    run(UNTIL_DONE);
    run(NO_TIMEOUT);
    return 0;
}
