/* DESCRIPTION: aio_fsync never completes before an earlier write on its fd, even one submitted by another thread */
#include "support/uffd.h"

static struct uffd_buf ub;
static int fd;
static struct aiocb w1;
static struct aiocb others[16];
static char obufs[16][512];
/* The submitter stays alive until the end: io_uring makes a thread's exit wait for the requests
 * it submitted that are still running, and w1 runs until the test lets it. */
static int go_home[2];

/* Another thread (so, in aio-rs, another home queue) submits the earlier requests. */
static void *submitter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 16; i++) {
        pat_fill(obufs[i], sizeof obufs[i], 65536 + i * 512, 12);
        cb_init(&others[i], fd, obufs[i], sizeof obufs[i], 65536 + i * 512);
        SYS(aio_write(&others[i]));
    }
    cb_init(&w1, fd, uffd_page(&ub, 0), UFFD_PAGE, 0);
    SYS(aio_write(&w1));
    char c;
    read_all(go_home[0], &c, 1);
    return NULL;
}

int main(void)
{
    ub = uffd_buf_new(1);
    fd = tmp_open(0);
    static char page[UFFD_PAGE] __attribute__((aligned(4096)));
    pat_fill(page, sizeof page, 0, 12);

    make_pipe(go_home);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, submitter, NULL), 0);
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);

    struct aiocb f;
    cb_init(&f, fd, NULL, 0, 0);
    SYS(aio_fsync(O_DSYNC, &f));

    /* While w1 is blocked the fsync must stay in progress: a bounded wait for it must time out. */
    const struct aiocb *fl[1] = { &f };
    struct timespec ts = ms_ts(300);
    int r = aio_suspend(fl, 1, &ts);
    if (r == 0 || aio_error(&f) != EINPROGRESS)
        die("aio_fsync completed (status %d) while an earlier write was still running", aio_error(&f));
    CHECK_EQ(errno == EAGAIN || errno == EINTR, 1);
    CHECK_EQ(aio_error(&w1), EINPROGRESS);

    uffd_fill(&ub, 0, page);
    wait_done(&f);
    /* Every earlier request is complete by the time the fsync is. */
    CHECK_EQ(aio_error(&f), 0);
    CHECK(aio_error(&w1) != EINPROGRESS);
    CHECK_DONE_OK(&w1, UFFD_PAGE);
    for (int i = 0; i < 16; i++) {
        CHECK(aio_error(&others[i]) != EINPROGRESS);
        CHECK_DONE_OK(&others[i], 512);
    }
    write_all(go_home[1], "x", 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    return 0;
}
