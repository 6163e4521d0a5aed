/* DESCRIPTION: a request outlives the thread that submitted it: a pipe read submitted by a thread that then exits completes with the data written later */
#include "support/common.h"
#include <pthread.h>

static int p[2];
static struct aiocb cb;
static char buf[32];

static void *submit_and_exit(void *arg)
{
    (void)arg;
    cb_init(&cb, p[0], buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    return NULL; /* the thread ends with its request pending */
}

int main(void)
{
    make_pipe(p);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, submit_and_exit, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    write_all(p[1], "after the thread", 16);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), 0);
    CHECK_EQ(aio_return(&cb), 16);
    CHECK(memcmp(buf, "after the thread", 16) == 0);
    return 0;
}
