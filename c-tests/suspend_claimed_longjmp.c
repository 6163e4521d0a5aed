/* DESCRIPTION: a signal handler siglongjmps out of an aio_suspend that was asleep alone on a pipe read (which aio-rs claims), once directly and once after its own aio_suspend on that read: the read still completes exactly once for another thread's aio_suspend, and the jumping thread's next lone pipe-read wait works (under aio-rs it claims again: it sleeps in ppoll on the read's file) */
#include "support/sigtest.h"
#include <dlfcn.h>
#include <setjmp.h>

enum { ROUNDS = 2, PPOLL_NR = 271 };

static sigjmp_buf env;
static struct aiocb first, second;
static char buf1[8], buf2[8];
static atomic_int tid, round_no, jumped, ready, next_ret, next_errno;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    if (atomic_load(&round_no) == 1) {
        /* A wait of the handler's own on the same read first (it takes the claim and gives the
         * read back), then the jump. */
        const struct aiocb *list[1] = { &first };
        struct timespec ts = ms_ts(1);
        (void)aio_suspend(list, 1, &ts);
    }
    atomic_store(&jumped, 1);
    siglongjmp(env, 1);
}

static void *sleeper(void *arg)
{
    int *p2 = arg;
    atomic_store(&tid, gettid());
    if (sigsetjmp(env, 1) == 0) {
        const struct aiocb *list[1] = { &first };
        struct timespec ts = ms_ts(4 * DONE_MS);
        (void)aio_suspend(list, 1, &ts);
        die("the aio_suspend returned: the handler did not jump out of it");
    }
    /* Back here by the jump: the next lone wait, on a read of another pipe. */
    cb_init(&second, p2[0], buf2, sizeof buf2, 0);
    CHECK_EQ(aio_read(&second), 0);
    atomic_store(&ready, 1);
    const struct aiocb *list[1] = { &second };
    struct timespec ts = ms_ts(2 * DONE_MS);
    int r = aio_suspend(list, 1, &ts);
    atomic_store(&next_errno, errno);
    atomic_store(&next_ret, r == 0 ? 1 : -1);
    return NULL;
}

/* The system call thread t sleeps in (-1 if unknown). */
static long sleeping_in(pid_t t)
{
    char path[64], text[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    return strtol(text, NULL, 10);
}

int main(void)
{
    /* aio-rs claims lone pipe reads unless io_uring takes them (AIO_RS_BACKEND=uring). */
    const char *be = getenv("AIO_RS_BACKEND");
    int claims = dlsym(RTLD_DEFAULT, "aio_rs_cq_create") != NULL && !(be && strcmp(be, "uring") == 0);
    on_signal(SIGUSR1, handler);
    for (int k = 0; k < ROUNDS; k++) {
        int p1[2], p2[2];
        make_pipe(p1);
        make_pipe(p2);
        atomic_store(&round_no, k);
        atomic_store(&tid, 0);
        atomic_store(&jumped, 0);
        atomic_store(&ready, 0);
        atomic_store(&next_ret, 0);
        cb_init(&first, p1[0], buf1, sizeof buf1, 0);
        CHECK_EQ(aio_read(&first), 0);
        pthread_t t = start_then_signal(sleeper, p2, &tid, SIGUSR1);
        WAIT_UNTIL(atomic_load(&ready) != 0, DONE_MS);
        wait_thread_sleeping(atomic_load(&tid), &next_ret, DONE_MS);
        if (claims) {
            /* Its next lone wait claimed the read: asleep in ppoll on its file (the sleep is
             * capped and made again, so look more than once). */
            long long deadline = now_ms() + DONE_MS;
            while (sleeping_in(atomic_load(&tid)) != PPOLL_NR) {
                if (now_ms() > deadline)
                    die("round %d: the thread's next lone pipe-read wait sleeps in system call %ld, "
                        "not ppoll: it no longer claims", k, sleeping_in(atomic_load(&tid)));
                pause_us(1000);
            }
        }
        /* The abandoned read completes, once, for another thread. */
        write_all(p1[1], "first", 5);
        const struct aiocb *list[1] = { &first };
        struct timespec ts = ms_ts(DONE_MS);
        if (aio_suspend(list, 1, &ts) != 0)
            die("round %d: the read the jump abandoned did not complete (errno %d)", k, errno);
        CHECK_DONE_OK(&first, 5);
        CHECK(memcmp(buf1, "first", 5) == 0);
        check_pipe_read_once(p1);
        /* And the thread's next wait ends with its read. */
        write_all(p2[1], "second", 6);
        CHECK_EQ(join_within(t, DONE_MS, NULL), 0);
        if (atomic_load(&next_ret) != 1)
            die("round %d: the next aio_suspend failed, errno %d", k, atomic_load(&next_errno));
        CHECK_DONE_OK(&second, 6);
        CHECK(memcmp(buf2, "second", 6) == 0);
        check_pipe_read_once(p2);
        for (int i = 0; i < 2; i++) {
            close(p1[i]);
            close(p2[i]);
        }
    }
    return 0;
}
