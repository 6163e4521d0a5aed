/* DESCRIPTION: after fork with reads in flight, the child can use AIO at once and the parent's reads still complete */
#include "support/common.h"

#define NP 3

int main(void)
{
    int p[NP][2];
    static struct aiocb pcbs[NP];
    char pbufs[NP][16];
    for (int i = 0; i < NP; i++) {
        make_pipe(p[i]);
        cb_init(&pcbs[i], p[i][0], pbufs[i], sizeof pbufs[i], 0);
        CHECK_EQ(aio_read(&pcbs[i]), 0);
    }
    int fd = tmp_pattern_file(1 << 16, 30);
    pid_t pid = SYS(fork());
    if (pid == 0) {
        /* the child: a fresh read, waited for with aio_suspend */
        alarm(TEST_ALARM);
        static char buf[8192];
        struct aiocb cb;
        cb_init(&cb, fd, buf, sizeof buf, 5000);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, sizeof buf);
        CHECK_PAT(buf, sizeof buf, 5000, 30);
        /* and a write */
        struct aiocb wcb;
        char w[100];
        pat_fill(w, sizeof w, 0, 31);
        cb_init(&wcb, fd, w, sizeof w, 1 << 16);
        CHECK_EQ(aio_write(&wcb), 0);
        wait_done(&wcb);
        CHECK_DONE_OK(&wcb, sizeof w);
        _exit(0);
    }
    wait_child_ok(pid, "child");
    char w[100];
    CHECK_EQ(pread(fd, w, sizeof w, 1 << 16), sizeof w);
    CHECK_PAT(w, sizeof w, 0, 31);
    for (int i = 0; i < NP; i++) {
        CHECK_EQ(aio_error(&pcbs[i]), EINPROGRESS);
        char msg[16];
        int n = snprintf(msg, sizeof msg, "parent %d", i);
        write_all(p[i][1], msg, n);
        wait_done(&pcbs[i]);
        CHECK_DONE_OK(&pcbs[i], n);
        CHECK(memcmp(pbufs[i], msg, n) == 0);
    }
    return 0;
}
