/* DESCRIPTION: 10,000 aio_reads pending on socketpairs, submitted from 2 threads, each complete exactly once with their own bytes when their peer writes, last-submitted first, while the process runs at most a few dozen threads */
/* GLIBC-XFAIL: glibc runs each pending read on a thread of its own, at most 20: a read queued behind 20 blocked ones waits for them, so writing to the last-submitted socket first completes nothing */
#define TEST_ALARM 25
#include "support/stream.h"
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>

#define NREADS 10000
/* Descriptors left for the library's own (epoll instances, eventfds) and stdio. */
#define RESERVE 160
#define MAX_THREADS 48

static int nsock;              /* sockets with pending reads */
static int *sock_fd, *peer_fd; /* per socket: its fd, the other end */
static int *first, *count;     /* per socket: its first read id, how many */
static struct aiocb *cbs;
static uint64_t *bufs;
static pthread_barrier_t submitted, finished;

static int threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        die("opendir /proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Submits, in order, every read of sockets [lo, hi). */
static void *submitter(void *arg)
{
    int half = (int)(intptr_t)arg;
    int lo = half ? nsock / 2 : 0, hi = half ? nsock : nsock / 2;
    for (int s = lo; s < hi; s++) {
        for (int k = 0; k < count[s]; k++) {
            int id = first[s] + k;
            cb_init(&cbs[id], sock_fd[s], &bufs[id], sizeof bufs[id], 0);
            if (aio_read(&cbs[id]) != 0)
                die("aio_read %d on fd %d", id, sock_fd[s]);
        }
    }
    pthread_barrier_wait(&submitted);
    /* Stay alive until the reads are done: they are this thread's. */
    pthread_barrier_wait(&finished);
    return NULL;
}

int main(void)
{
    struct rlimit rl;
    SYS(getrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        SYS(getrlimit(RLIMIT_NOFILE, &rl));
    /* Each socket costs the program's descriptor and the duplicate the library may hold while
     * a read waits on it; with fewer sockets than reads, some sockets get two (in order). */
    long room = ((long)rl.rlim_cur - RESERVE) / 2 / 2 * 2;
    nsock = room < NREADS ? (int)room : NREADS;
    if (nsock < NREADS / 2)
        skip("RLIMIT_NOFILE %ld allows %d sockets, %d wanted", (long)rl.rlim_cur, nsock, NREADS);
    sock_fd = calloc(nsock, sizeof *sock_fd);
    peer_fd = calloc(nsock, sizeof *peer_fd);
    first = calloc(nsock, sizeof *first);
    count = calloc(nsock, sizeof *count);
    cbs = calloc(NREADS, sizeof *cbs);
    bufs = calloc(NREADS, sizeof *bufs);
    CHECK(sock_fd && peer_fd && first && count && cbs && bufs);
    for (int s = 0; s < nsock; s += 2) {
        int p[2];
        make_socketpair(p);
        sock_fd[s] = p[0], peer_fd[s] = p[1];
        sock_fd[s + 1] = p[1], peer_fd[s + 1] = p[0];
    }
    for (int s = 0, id = 0; s < nsock; s++) {
        count[s] = NREADS / nsock + (s < NREADS % nsock);
        first[s] = id;
        id += count[s];
    }

    pthread_barrier_init(&submitted, NULL, 3);
    pthread_barrier_init(&finished, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, submitter, (void *)(intptr_t)i), 0);
    pthread_barrier_wait(&submitted);

    int pending = 0;
    for (int id = 0; id < NREADS; id++)
        pending += aio_error(&cbs[id]) == EINPROGRESS;
    CHECK_EQ(pending, NREADS);
    int most = threads_now();

    /* Last-submitted socket first: each read completes on its own, whatever waits before it. */
    for (int s = nsock - 1; s >= 0; s--) {
        for (int k = 0; k < count[s]; k++) {
            int id = first[s] + k;
            uint64_t msg = 0x5eed000000000000ull | (uint64_t)id;
            write_all(peer_fd[s], &msg, sizeof msg);
            wait_done_ms(&cbs[id], 5000);
            CHECK_DONE_OK(&cbs[id], (ssize_t)sizeof msg);
            if (bufs[id] != msg)
                die("read %d got %llx, expected %llx", id, (unsigned long long)bufs[id],
                    (unsigned long long)msg);
        }
        if (s % 500 == 0) {
            int n = threads_now();
            most = n > most ? n : most;
        }
    }
    /* Exactly once: every status stays final, and no byte was read twice or left behind. */
    for (int id = 0; id < NREADS; id++)
        CHECK_EQ(aio_error(&cbs[id]), 0);
    for (int s = 0; s < nsock; s++) {
        char c;
        CHECK_ERR(recv(sock_fd[s], &c, 1, MSG_DONTWAIT), EAGAIN);
    }
    if (most > MAX_THREADS)
        die("%d threads in the process with %d reads pending (at most %d wanted)", most, NREADS,
            MAX_THREADS);
    printf("%d reads on %d sockets, at most %d threads\n", NREADS, nsock, most);
    pthread_barrier_wait(&finished);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}
