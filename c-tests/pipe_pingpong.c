/* DESCRIPTION: two threads ping-pong 2000 messages over two pipes with aio_write/aio_read, each waiting for its own request; every message arrives, in order */
#include "support/common.h"
#include <pthread.h>

#define ROUNDS 2000
#define MSG 64

static int a[2], b[2];

/* One request on fd, waited for; returns what aio_return says. */
static ssize_t one(int fd, char *buf, int writing)
{
    struct aiocb cb;
    cb_init(&cb, fd, buf, MSG, 0);
    CHECK_EQ(writing ? aio_write(&cb) : aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), 0);
    return aio_return(&cb);
}

static void *pong(void *arg)
{
    (void)arg;
    char buf[MSG];
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_EQ(one(a[0], buf, 0), MSG);
        CHECK_EQ(buf[0], (char)i);
        buf[1] = (char)(i * 7);
        CHECK_EQ(one(b[1], buf, 1), MSG);
    }
    return NULL;
}

int main(void)
{
    make_pipe(a);
    make_pipe(b);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, pong, NULL), 0);
    char buf[MSG] = { 0 };
    for (int i = 0; i < ROUNDS; i++) {
        buf[0] = (char)i;
        CHECK_EQ(one(a[1], buf, 1), MSG);
        CHECK_EQ(one(b[0], buf, 0), MSG);
        CHECK_EQ(buf[0], (char)i);
        CHECK_EQ(buf[1], (char)(i * 7));
    }
    CHECK_EQ(pthread_join(t, NULL), 0);
    return 0;
}
