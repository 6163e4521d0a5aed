/* DESCRIPTION: SIGEV_THREAD honours sigev_notify_attributes: the callback thread has at least the requested stack size */
#include "support/common.h"

#define STACK (16u << 20) /* above the usual 8 MiB default */

static atomic_int calls;
static size_t seen_stack;

/* use a large part of the stack, to show it is really there */
__attribute__((noinline)) static void use_stack(void)
{
    volatile char big[STACK / 2];
    big[0] = 1;
    big[sizeof big - 1] = big[0];
}

static void callback(union sigval v)
{
    (void)v;
    pthread_attr_t a;
    size_t sz = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstacksize(&a, &sz);
        pthread_attr_destroy(&a);
    }
    if (sz >= STACK)
        use_stack();
    seen_stack = sz;
    atomic_fetch_add(&calls, 1);
}

int main(void)
{
    pthread_attr_t attr;
    CHECK_EQ(pthread_attr_init(&attr), 0);
    CHECK_EQ(pthread_attr_setstacksize(&attr, STACK), 0);
    CHECK_EQ(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
    int fd = tmp_pattern_file(4096, 26);
    char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    cb.aio_sigevent.sigev_notify_function = callback;
    cb.aio_sigevent.sigev_notify_attributes = &attr;
    CHECK_EQ(aio_read(&cb), 0);
    WAIT_UNTIL(atomic_load(&calls) > 0, DONE_MS);
    if (seen_stack < STACK)
        die("callback stack is %zu bytes, requested %u", seen_stack, STACK);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_EQ(atomic_load(&calls), 1);
    return 0;
}
