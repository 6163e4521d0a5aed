/* DESCRIPTION: fork while a stream of writes on a file is in flight: the child starts with exactly the program's descriptors (the library's are closed, none of the program's) and can write the file with AIO; the parent's writes each complete once, written */
/* GLIBC-XFAIL: a glibc child inherits the parent's queue of requests on the descriptor, whose worker threads did not survive fork, so its own write on that descriptor waits behind them forever */
#include "support/fdtest.h"

#define N 64
#define BLK 4096
#define MAXFD 4096

static char bufs[N][BLK];
static struct aiocb cbs[N];

/* The open descriptor numbers below MAXFD (1 each). */
static int open_set(char set[MAXFD])
{
    memset(set, 0, MAXFD);
    int n = 0;
    for (int fd = 0; fd < MAXFD; fd++)
        if (fcntl(fd, F_GETFD) != -1) {
            set[fd] = 1;
            n++;
        }
    return n;
}

int main(void)
{
    int fd = tmp_open(0);
    char before[MAXFD];
    open_set(before);
    for (int i = 0; i < N; i++) {
        pat_fill(bufs[i], BLK, (long long)i * BLK, 1);
        cb_init(&cbs[i], fd, bufs[i], BLK, (off_t)i * BLK);
        CHECK_EQ(aio_write(&cbs[i]), 0);
    }
    pid_t pid = SYS(fork());
    if (pid == 0) {
        alarm(TEST_ALARM);
        char after[MAXFD];
        open_set(after);
        for (int i = 0; i < MAXFD; i++)
            if (before[i] != after[i])
                die("child: descriptor %d is %s, it was %s before the "
                    "first AIO call", i, after[i] ? "open" : "closed",
                    before[i] ? "open" : "closed");
        static char w[BLK];
        pat_fill(w, BLK, (long long)N * BLK, 9);
        struct aiocb wcb;
        cb_init(&wcb, fd, w, BLK, (off_t)N * BLK);
        CHECK_EQ(aio_write(&wcb), 0);
        wait_done(&wcb);
        CHECK_DONE_OK(&wcb, BLK);
        _exit(0);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], BLK);
    }
    wait_child_ok(pid, "child");
    static char back[(N + 1) * BLK];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, N * BLK, 0, 1);
    CHECK_PAT(back + N * BLK, BLK, (long long)N * BLK, 9);
    return 0;
}
