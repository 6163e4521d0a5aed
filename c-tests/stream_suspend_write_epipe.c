/* DESCRIPTION: aio_suspend waiting for one pipe write that is parked because the pipe is full, while the reader goes away: the write completes with EPIPE and no SIGPIPE reaches the program (its default action would end the process) */
#include "support/common.h"
#include "support/stream.h"
#include <pthread.h>

static int p[2];

static void *closer(void *arg)
{
    (void)arg;
    pause_us(50000); /* most likely while the write is awaited; either way the result is the same */
    close(p[0]);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    make_pipe(p);
    (void)fcntl(p[1], F_SETPIPE_SZ, 4096);
    static char data[8192];
    memset(data, 'x', sizeof data);
    int fl = SYS(fcntl(p[1], F_GETFL));
    SYS(fcntl(p[1], F_SETFL, fl | O_NONBLOCK));
    while (write(p[1], data, sizeof data) > 0)
        ;
    CHECK_EQ(errno, EAGAIN);
    SYS(fcntl(p[1], F_SETFL, fl));
    struct aiocb w;
    cb_init(&w, p[1], data, sizeof data, 0);
    CHECK_EQ(aio_write(&w), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, closer, NULL), 0);
    wait_done(&w);
    CHECK_EQ(aio_error(&w), EPIPE);
    CHECK_EQ(aio_return(&w), -1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    return 0;
}
