/* DESCRIPTION: pipe reads that notify a completion queue complete when the program waits for them only in its own epoll_wait on the queue and harvests with a zero timeout (a peer thread echoes each message after the read is parked): each read is handed out once, with the peer's bytes */
#include "support/ext.h"
#include "support/stream.h"
#include <pthread.h>
#include <sys/epoll.h>

enum { ROUNDS = 300, LEN = 16 };

static int to_peer[2], from_peer[2];

/* Echoes every message from to_peer back on from_peer. */
static void *peer(void *arg)
{
    (void)arg;
    char m[LEN];
    for (int i = 0; i < ROUNDS; i++) {
        read_soon(to_peer[0], m, LEN);
        write_all(from_peer[1], m, LEN);
    }
    return NULL;
}

int main(void)
{
    cq_require();
    make_pipe(to_peer);
    make_pipe(from_peer);
    int q = x_cq_create(0);
    CHECK(q >= 0);
    int ep = SYS(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN};
    SYS(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev));
    struct timespec zero = {0, 0};
    struct aiocb *got[4];
    /* The queue is harvested from the start, like an event loop's. */
    CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, peer, NULL), 0);
    for (int i = 0; i < ROUNDS; i++) {
        static struct aiocb cb;
        char in[LEN], out[LEN];
        memset(in, 0, sizeof in);
        snprintf(out, sizeof out, "round %09d", i);
        cb_init(&cb, from_peer[0], in, LEN, 0);
        cb_queue(&cb, q);
        CHECK_EQ(aio_read(&cb), 0); /* parked: nothing to read yet */
        int k = x_cq_harvest(q, got, 4, &zero);
        CHECK_EQ(k, 0); /* nothing written yet */
        write_all(to_peer[1], out, LEN);
        long long deadline = now_ms() + DONE_MS;
        while (k == 0) {
            if (now_ms() > deadline)
                die("round %d: no completion through epoll_wait", i);
            int n = epoll_wait(ep, &ev, 1, 1000);
            if (n < 0 && errno != EINTR)
                die("epoll_wait");
            k = x_cq_harvest(q, got, 4, &zero);
            CHECK(k >= 0);
        }
        CHECK_EQ(k, 1);
        CHECK(got[0] == &cb);
        CHECK_DONE_OK(&cb, LEN);
        if (memcmp(in, out, LEN) != 0)
            die("round %d: read '%.*s'", i, LEN, in);
        /* Handed out once: nothing more now. */
        CHECK_EQ(x_cq_harvest(q, got, 4, &zero), 0);
    }
    CHECK_EQ(pthread_join(t, NULL), 0);
    close(ep);
    CHECK_EQ(x_cq_close(q), 0);
    return 0;
}
