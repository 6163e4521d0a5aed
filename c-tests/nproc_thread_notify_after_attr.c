/* DESCRIPTION: a SIGEV_THREAD read with thread attributes completes and calls back before RLIMIT_NPROC is reached (its callback thread then ends); afterwards, with no thread creatable, SIGEV_THREAD reads with and without attributes are each refused with EAGAIN or accepted, and every accepted one completes and has its callback called while the limit still stands */
/* GLIBC-XFAIL: glibc accepts a SIGEV_THREAD request and then cannot create the notification's thread: the callback never runs (its requests do complete) */
#define TEST_ALARM 30
#include "support/fdtest.h"
#include <sys/resource.h>

enum { N = 4, SZ = 4096 };

static atomic_int callbacks;
static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&callbacks, 1);
}

static int body(void)
{
    int f = tmp_pattern_file(1 << 20, 73);
    pthread_attr_t attr;
    CHECK_EQ(pthread_attr_init(&attr), 0);
    CHECK_EQ(pthread_attr_setstacksize(&attr, 1 << 20), 0);
    CHECK_EQ(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
    /* Before the limit: one SIGEV_THREAD read with attributes (its callback gets a thread of its
     * own, which ends with the callback). */
    static char buf[N + 1][SZ];
    struct aiocb first;
    cb_init(&first, f, buf[N], SZ, 0);
    first.aio_sigevent.sigev_notify = SIGEV_THREAD;
    first.aio_sigevent.sigev_notify_function = on_done;
    first.aio_sigevent.sigev_notify_attributes = &attr;
    SYS(aio_read(&first));
    WAIT_UNTIL(atomic_load(&callbacks) == 1 || now_ms() < 0, DONE_MS);
    CHECK_EQ(atomic_load(&callbacks), 1);
    CHECK_DONE_OK(&first, SZ);

    struct rlimit rl;
    limit_threads_to_none(&rl);

    struct aiocb r[N];
    int ok[N], n = 0;
    char what[64];
    for (int i = 0; i < N; i++) {
        cb_init(&r[i], f, buf[i], SZ, SZ * (i + 1));
        r[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
        r[i].aio_sigevent.sigev_notify_function = on_done;
        if (i & 1)
            r[i].aio_sigevent.sigev_notify_attributes = &attr;
        snprintf(what, sizeof what, "SIGEV_THREAD read %d", i);
        ok[i] = accepted_or_eagain(aio_read(&r[i]), what);
        n += ok[i];
    }
    printf("accepted %d of %d SIGEV_THREAD reads\n", n, N);
    int fails = 0;
    for (int i = 0; i < N; i++) {
        if (!ok[i])
            continue;
        long long deadline = now_ms() + DONE_MS;
        while (aio_error(&r[i]) == EINPROGRESS && now_ms() < deadline)
            pause_us(500);
        if (aio_error(&r[i]) == EINPROGRESS) {
            fprintf(stderr, "accepted read %d never completed\n", i);
            fails++;
            continue;
        }
        CHECK_DONE_OK(&r[i], SZ);
        CHECK_PAT(buf[i], SZ, SZ * (i + 1), 73);
    }
    WAIT_UNTIL(atomic_load(&callbacks) >= 1 + n || now_ms() < 0, DONE_MS);
    if (atomic_load(&callbacks) != 1 + n) {
        fprintf(stderr, "%d of %d callbacks ran while no thread could be made\n", atomic_load(&callbacks) - 1, n);
        fails++;
    }
    struct rlimit back = { rl.rlim_max, rl.rlim_max };
    SYS(setrlimit(RLIMIT_NPROC, &back));
    if (fails)
        die("%d accepted requests did not complete or notify while threads could not be made", fails);
    return 0;
}

int main(void)
{
    return run_where_nproc_binds(body);
}
