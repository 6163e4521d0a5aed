/* DESCRIPTION: fork while another thread sleeps in aio_suspend on its lone pipe read (which aio-rs claims): the child sees the read in progress, its own aio_suspend on it times out, and it neither reads the pipe nor completes the request; in the parent the read completes once with the data written after the fork */
#include "support/sigtest.h"
#include <sys/wait.h>

static struct aiocb cb;
static char buf[16];
static atomic_int tid, ret;

static void *sleeper(void *arg)
{
    (void)arg;
    const struct aiocb *list[1] = { &cb };
    atomic_store(&tid, gettid());
    struct timespec ts = ms_ts(4 * DONE_MS);
    atomic_store(&ret, aio_suspend(list, 1, &ts) == 0 ? 1 : -1);
    return NULL;
}

int main(void)
{
    for (int round = 0; round < 5; round++) {
        int p[2];
        make_pipe(p);
        memset(buf, 0, sizeof buf);
        atomic_store(&tid, 0);
        atomic_store(&ret, 0);
        cb_init(&cb, p[0], buf, sizeof buf, 0);
        CHECK_EQ(aio_read(&cb), 0);
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
        WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
        wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
        fflush(NULL);
        pid_t pid = SYS(fork());
        if (pid == 0) {
            alarm(10);
            if (aio_error(&cb) != EINPROGRESS)
                _exit(2);
            /* glibc's AIO is not usable in a child forked with requests in flight. */
            if (is_aio_rs((void *)aio_read)) {
                const struct aiocb *list[1] = { &cb };
                struct timespec ts = ms_ts(50);
                errno = 0;
                if (aio_suspend(list, 1, &ts) != -1 || errno != EAGAIN)
                    _exit(3);
                if (aio_error(&cb) != EINPROGRESS)
                    _exit(4);
            }
            if (buf[0] != 0)
                _exit(5);
            _exit(0);
        }
        int st = wait_child_ms(pid, 2 * DONE_MS, "child");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("round %d: the child failed (status 0x%x)", round, st);
        CHECK_EQ(atomic_load(&ret), 0);
        CHECK_EQ(aio_error(&cb), EINPROGRESS);
        write_all(p[1], "ping", 4);
        CHECK_EQ(pthread_join(t, NULL), 0);
        CHECK_EQ(atomic_load(&ret), 1);
        CHECK_DONE_OK(&cb, 4);
        CHECK(memcmp(buf, "ping", 4) == 0);
        check_pipe_read_once(p);
        close(p[0]);
        close(p[1]);
    }
    return 0;
}
