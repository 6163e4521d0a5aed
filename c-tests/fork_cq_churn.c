/* DESCRIPTION: fork, again and again, while another thread creates completion queues, completes a read through each, and closes them (aio_rs_cq_close, or a plain close the next create notices): every child starts with exactly the program's descriptors (the library's own epoll duplicate and eventfd of a queue never leak into it) */
#define TEST_ALARM 60
#include "support/ext.h"
#include "support/fdset.h"

#define FORKS 200

static atomic_int stop;
/* The thread's queue as the program knows it (-1: none), and whether a create or a close of it is
 * under way. A fork child sees the three as they were at the fork. */
static atomic_int cur = -1, creating, closing;
static atomic_long rounds;
static int file_fd;

static int is_epoll(int fd)
{
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        return 0;
    link[n] = 0;
    return strcmp(link, "anon_inode:[eventpoll]") == 0;
}

static void *churn(void *arg)
{
    (void)arg;
    static char buf[16];
    static struct aiocb cb;
    for (long k = 0; !atomic_load(&stop); k++) {
        atomic_store(&creating, 1);
        int q = x_cq_create(0);
        CHECK(q >= 0);
        atomic_store(&cur, q);
        atomic_store(&creating, 0);
        cb_init(&cb, file_fd, buf, sizeof buf, 0);
        cb_queue(&cb, q);
        CHECK_EQ(aio_read(&cb), 0);
        struct aiocb *got[2];
        struct timespec ts = ms_ts(DONE_MS);
        CHECK_EQ(x_cq_harvest(q, got, 2, &ts), 1);
        CHECK(got[0] == &cb);
        CHECK_DONE_OK(&cb, sizeof buf);
        atomic_store(&closing, 1);
        if (k & 1)
            CHECK_EQ(x_cq_close(q), 0);
        else
            SYS(close(q)); /* the library closes its own two at the next create */
        atomic_store(&cur, -1);
        atomic_store(&closing, 0);
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

int main(void)
{
    cq_require();
    file_fd = tmp_pattern_file(16, 3);
    static char before[FDSET_MAX], after[FDSET_MAX];
    fdset_read(before);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, churn, NULL), 0);
    for (int f = 0; f < FORKS; f++) {
        pid_t pid = SYS(fork());
        if (pid == 0) {
            fdset_read(after);
            int q = atomic_load(&cur), busy = atomic_load(&creating) || atomic_load(&closing);
            int extra = 0;
            if (!busy && q >= 0 && !after[q]) {
                fprintf(stderr, "FAIL child %d: the program's queue %d is not inherited\n", f, q);
                _exit(1);
            }
            for (int i = 0; i < FDSET_MAX; i++) {
                if (before[i] == after[i] || (i == q && after[i]))
                    continue;
                /* A create returning, or a close under way, at the fork: the program's own queue
                 * number, one epoll instance, is there or not. Nothing else may be. */
                if (busy && after[i] && !before[i] && is_epoll(i) && extra++ == 0)
                    continue;
                if (busy && i == q && !after[i])
                    continue;
                char path[64], link[64] = "";
                snprintf(path, sizeof path, "/proc/self/fd/%d", i);
                ssize_t n = readlink(path, link, sizeof link - 1);
                link[n > 0 ? n : 0] = 0;
                fprintf(stderr, "FAIL child %d: descriptor %d (%s, tag %d) is %s, it was %s before (queue %d, %s)\n", f,
                        i, link, fcntl(i, F_GETSIG), after[i] ? "open" : "closed", before[i] ? "open" : "closed", q,
                        busy ? "create or close under way" : "at rest");
                _exit(1);
            }
            _exit(0);
        }
        wait_child_ok(pid, "child");
    }
    atomic_store(&stop, 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(atomic_load(&rounds) > 0);
    return 0;
}
