/* DESCRIPTION: with RLIMIT_NOFILE just above the program's own descriptors (two to spare), fork again and again while other threads write a file and read a pipe with AIO: each request is accepted or refused with EAGAIN, every accepted one completes once with its data, and every child starts with exactly the program's descriptors (what the library could not make fell back or was refused, nothing leaked into a child) */
#define TEST_ALARM 60
#include "support/fdtest.h"
#include "support/fdset.h"

#define FORKS 150
#define W 8
#define BLK 512

static atomic_int stop;
static atomic_long accepted_n, refused_n;
static int file_fd, pipe_fd[2];

static int take(int r)
{
    if (r == 0) {
        atomic_fetch_add(&accepted_n, 1);
        return 1;
    }
    if (errno != EAGAIN)
        die("submission refused with errno %d (%s), not EAGAIN", errno, strerror(errno));
    atomic_fetch_add(&refused_n, 1);
    return 0;
}

static void *writer(void *arg)
{
    (void)arg;
    static char bufs[W][BLK];
    static struct aiocb cbs[W];
    for (long round = 0; !atomic_load(&stop); round++) {
        struct aiocb *list[W];
        int n = 0;
        for (int i = 0; i < W; i++) {
            pat_fill(bufs[i], BLK, (long long)i * BLK, (unsigned)round);
            cb_init(&cbs[i], file_fd, bufs[i], BLK, (off_t)i * BLK);
            if (take(aio_write(&cbs[i])))
                list[n++] = &cbs[i];
        }
        wait_all_ms(list, n, DONE_MS);
        for (int i = 0; i < n; i++)
            CHECK_DONE_OK(list[i], BLK);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    for (unsigned char k = 0; !atomic_load(&stop); k++) {
        char c = 0;
        struct aiocb cb;
        cb_init(&cb, pipe_fd[0], &c, 1, 0);
        if (!take(aio_read(&cb))) {
            pause_us(100);
            continue;
        }
        write_all(pipe_fd[1], &k, 1);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 1);
        CHECK_EQ((unsigned char)c, k);
    }
    return NULL;
}

int main(void)
{
    file_fd = tmp_open(0);
    make_pipe(pipe_fd);
    int hi = highest_fd();
    CHECK(hi + 3 < FDSET_MAX);
    struct rlimit rl;
    SYS(getrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = (rlim_t)hi + 3; /* numbers up to hi + 2: two to spare */
    SYS(setrlimit(RLIMIT_NOFILE, &rl));
    static char before[FDSET_MAX];
    fdset_read(before);
    pthread_t tw, tr;
    CHECK_EQ(pthread_create(&tw, NULL, writer, NULL), 0);
    CHECK_EQ(pthread_create(&tr, NULL, reader, NULL), 0);
    for (int f = 0; f < FORKS; f++) {
        pid_t pid = SYS(fork());
        if (pid == 0)
            fdset_child_exit(before, f);
        wait_child_ok(pid, "child");
    }
    atomic_store(&stop, 1);
    CHECK_EQ(pthread_join(tw, NULL), 0);
    CHECK_EQ(pthread_join(tr, NULL), 0);
    CHECK(atomic_load(&accepted_n) > 0);
    return 0;
}
