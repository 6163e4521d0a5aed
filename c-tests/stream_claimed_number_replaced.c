/* DESCRIPTION: a pipe read that its thread waits for alone in aio_suspend, whose descriptor number another thread replaces (dup2) with another pipe that holds data, then feeds the first pipe: the read gets the first pipe's byte (or ends ECANCELED with that byte left there), and the other pipe's data is never consumed; repeatedly, the first rounds after reads that waited the same way */
/* GLIBC-XFAIL: glibc runs a read by descriptor number: one its thread has not started yet reads whatever the number names by then */
#include "support/common.h"
#include "support/stream.h"

#include <fcntl.h>
#include <pthread.h>

#define ROUNDS 20

struct swap {
    int other;  /* read end of the other pipe (holds "ZZZZ") */
    int number; /* the program's number the read was submitted on */
    int feed;   /* write end of the first pipe */
};

static void *swapper(void *arg)
{
    struct swap *s = arg;
    SYS(dup2(s->other, s->number));
    write_all(s->feed, "x", 1);
    return NULL;
}

int main(void)
{
    for (int round = 0; round < ROUNDS; round++) {
        int p[2], q[2];
        make_pipe(p);
        make_pipe(q);
        write_all(q[1], "ZZZZ", 4);
        /* Another number of the first pipe's read end, to look at what is left there. */
        int keep = dup(p[0]);
        SYS(keep);
        char buf[8] = { 0 };
        struct aiocb cb;
        /* A few reads that wait, each waited for alone: the library's waiter claims them. */
        for (int i = 0; i < 3; i++) {
            read_fed_byte(p[0], p[1], buf, 'y');
        }
        buf[0] = 0;
        cb_init(&cb, p[0], buf, sizeof buf, 0);
        CHECK_EQ(aio_read(&cb), 0);
        struct swap s = { q[0], p[0], p[1] };
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, swapper, &s), 0);
        wait_done(&cb);
        CHECK_EQ(pthread_join(t, NULL), 0);
        CHECK(buf[0] != 'Z');
        int e = aio_error(&cb);
        if (e == 0) {
            CHECK_EQ(aio_return(&cb), 1);
            CHECK_EQ(buf[0], 'x');
        } else {
            CHECK_EQ(e, ECANCELED);
            CHECK_EQ(aio_return(&cb), -1);
            char c;
            read_all(keep, &c, 1);
            CHECK_EQ(c, 'x');
        }
        /* The other pipe still holds all of its data. */
        SYS(fcntl(q[0], F_SETFL, O_NONBLOCK));
        char z[8];
        CHECK_EQ(read(q[0], z, sizeof z), 4);
        CHECK(memcmp(z, "ZZZZ", 4) == 0);
        close(p[0]);
        close(p[1]);
        close(q[0]);
        close(q[1]);
        close(keep);
    }
    return 0;
}
