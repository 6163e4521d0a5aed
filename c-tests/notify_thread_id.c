/* DESCRIPTION: SIGEV_THREAD_ID delivers the completion signal to the named thread (checked with gettid) */
/* GLIBC-XFAIL: glibc's AIO ignores SIGEV_THREAD_ID and sends no signal at all */
#include "support/common.h"

static volatile sig_atomic_t count, seen_tid, seen_code;
static atomic_int target_tid, stop;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    seen_tid = gettid();
    seen_code = si->si_code;
    count++;
}

static void *target(void *arg)
{
    (void)arg;
    atomic_store(&target_tid, gettid());
    long long deadline = now_ms() + DONE_MS;
    while (!atomic_load(&stop) && now_ms() < deadline)
        pause_us(500);
    return NULL;
}

int main(void)
{
    int sig = SIGRTMIN + 7;
    on_signal(sig, handler);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, target, NULL), 0);
    WAIT_UNTIL(atomic_load(&target_tid) != 0, DONE_MS);
    int fd = tmp_pattern_file(4096, 28);
    char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
    cb.aio_sigevent.sigev_signo = sig;
    cb.aio_sigevent._sigev_un._tid = atomic_load(&target_tid);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, sizeof buf);
    long long deadline = now_ms() + 2000;
    while (count == 0 && now_ms() < deadline)
        pause_us(500);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    if (count == 0)
        die("no signal arrived");
    if (seen_tid != atomic_load(&target_tid))
        die("signal ran on thread %d, expected %d (main is %d)", seen_tid,
            atomic_load(&target_tid), getpid());
    CHECK_EQ(seen_code, SI_ASYNCIO);
    CHECK_EQ(count, 1);
    return 0;
}
