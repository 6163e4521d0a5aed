/* DESCRIPTION: with RLIMIT_NOFILE lowered to just above the program's own descriptors (two to spare) once the library has made its own (each thread ran on every CPU), fork again and again while other threads write a file and read a pipe with AIO: each request is accepted or refused with EAGAIN, some are accepted, every accepted one completes once with its data, and every child starts with exactly the program's descriptors (what the library could not make fell back or was refused, nothing leaked into a child) */
#define TEST_ALARM 60
#include "support/fdtest.h"
#include "support/fdset.h"

#define FORKS 150
#define W 8
#define BLK 512

/* Why the library's own descriptors are made first: each queue (one per CPU) makes a few of its
 * own on first use (a doorbell eventfd, a readiness epoll set, a ring or a kernel AIO eventfd),
 * and with two numbers to spare a cold library takes both for them and then has none to hold a
 * request's file: it refuses every request with EAGAIN, as it must (nofile_full covers that).
 * Made while the limit is open, they sit above it and stay usable; a lowered limit only stops new
 * numbers. The runner starts every test with descriptors 0-2 only, so "two to spare" means two. */

static atomic_int stop;
static atomic_long accepted_n, refused_n;
static int file_fd, pipe_fd[2];
static pthread_barrier_t warm, tight;

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

/* Runs `round(r)` once on each CPU this thread may use, then lets it run anywhere again, then
 * waits until the limit is lowered. */
static void warm_up(int (*round)(long))
{
    cpu_set_t all, one;
    CHECK_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            CHECK_EQ(sched_setaffinity(0, sizeof one, &one), 0);
            CHECK(round(c));
        }
    CHECK_EQ(sched_setaffinity(0, sizeof all, &all), 0);
    pthread_barrier_wait(&warm);
    pthread_barrier_wait(&tight);
}

/* One round of W writes; whether any was accepted. */
static int write_round(long round)
{
    static char bufs[W][BLK];
    static struct aiocb cbs[W];
    {
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
        return n > 0;
    }
}

static void *writer(void *arg)
{
    (void)arg;
    warm_up(write_round);
    for (long round = 0; !atomic_load(&stop); round++)
        write_round(round);
    return NULL;
}

/* One pipe read, its byte written after it was accepted; whether it was accepted. */
static int read_round(long k)
{
    char c = 0;
    struct aiocb cb;
    cb_init(&cb, pipe_fd[0], &c, 1, 0);
    if (!take(aio_read(&cb))) {
        pause_us(100);
        return 0;
    }
    unsigned char b = (unsigned char)k;
    write_all(pipe_fd[1], &b, 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ((unsigned char)c, b);
    return 1;
}

static void *reader(void *arg)
{
    (void)arg;
    warm_up(read_round);
    for (long k = 0; !atomic_load(&stop); k++)
        read_round(k);
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
    static char before[FDSET_MAX];
    fdset_read(before);
    CHECK_EQ(pthread_barrier_init(&warm, NULL, 3), 0);
    CHECK_EQ(pthread_barrier_init(&tight, NULL, 3), 0);
    pthread_t tw, tr;
    CHECK_EQ(pthread_create(&tw, NULL, writer, NULL), 0);
    CHECK_EQ(pthread_create(&tr, NULL, reader, NULL), 0);
    pthread_barrier_wait(&warm);
    atomic_store(&accepted_n, 0);
    rl.rlim_cur = (rlim_t)hi + 3; /* numbers up to hi + 2: two to spare */
    SYS(setrlimit(RLIMIT_NOFILE, &rl));
    pthread_barrier_wait(&tight);
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
