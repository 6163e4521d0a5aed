/* DESCRIPTION: a signal handler forks, again and again, on a thread that keeps making and closing the library's descriptors (completion queues), so that forks interrupt it inside a fork-gate section: no fork deadlocks, every child runs, most forks do not wait out the gate's 50 ms bound for the section their own thread is in (it cannot end before the fork), and the thread's queues keep working */
#define TEST_ALARM 60
#include "support/ext.h"

enum { SIGNALS = 300, FORK_MS = 2000, BOUND_MS = 45 };

static atomic_int stop, handled, slow, failed, waited_out;
static atomic_long rounds;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    long long t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    long long took = now_ms() - t0;
    if (pid < 0) {
        atomic_store(&failed, 1);
    } else {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            atomic_store(&failed, 1);
    }
    if (took > FORK_MS)
        atomic_store(&slow, 1);
    if (took >= BOUND_MS)
        atomic_fetch_add(&waited_out, 1);
    atomic_fetch_add(&handled, 1);
    errno = saved;
}

static void *churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int q = x_cq_create(0);
        CHECK(q >= 0);
        struct aiocb *got[1];
        struct timespec zero = { 0, 0 };
        CHECK_EQ(x_cq_harvest(q, got, 1, &zero), 0);
        CHECK_EQ(x_cq_close(q), 0);
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

int main(void)
{
    /* A direct call, so that the linked build keeps its link to the library (the queues'
     * functions are looked up at run time). */
    static struct aiocb never;
    CHECK_EQ(aio_error(&never), 0);
    cq_require();
    on_signal(SIGUSR1, handler);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, churn, NULL), 0);
    WAIT_UNTIL(atomic_load(&rounds) > 0, DONE_MS);
    for (int i = 0; i < SIGNALS; i++) {
        int before = atomic_load(&handled);
        CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
        WAIT_UNTIL(atomic_load(&handled) > before, DONE_MS);
        if (atomic_load(&slow))
            die("a fork in the handler took more than %d ms", FORK_MS);
        if (atomic_load(&failed))
            die("a fork in the handler failed, or its child did");
    }
    /* Most signals land inside a section (the loop is mostly made of them); a fork that waited
     * for its own thread's section would take the whole bound each time. */
    if (atomic_load(&waited_out) > SIGNALS / 4)
        die("%d of %d forks in the handler took %d ms or more", atomic_load(&waited_out), SIGNALS, BOUND_MS);
    long r = atomic_load(&rounds);
    WAIT_UNTIL(atomic_load(&rounds) > r, DONE_MS);
    atomic_store(&stop, 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    return 0;
}
