/* DESCRIPTION: a thread cancelled while asleep in aio_suspend on its lone pipe read, right after it deferred page-cached reads into a batch: its cleanup handler runs, and another thread sees every deferred read complete once with the right data and the pipe read complete once with the data written after the cancel */
#include "support/sigtest.h"
#include "support/defer.h"

#define SEED 61
enum { N = 8, SZ = 4096, ROUNDS = 6 };

static struct aiocb rcb[N], pcb;
static char rbuf[N][SZ];
static char pbuf[16];
static int fd, pipe_rd;
static atomic_int tid, returned, cleaned;
static int round_no;

static off_t off_of(int i) { return (off_t)SZ * (7 * i + round_no); }

static void cleanup(void *arg)
{
    (void)arg;
    atomic_store(&cleaned, 1);
}

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup, NULL);
    /* The pipe read first: a submission that is not deferred would flush the batch. */
    cb_init(&pcb, pipe_rd, pbuf, sizeof pbuf, 0);
    CHECK_EQ(aio_read(&pcb), 0);
    for (int i = 0; i < N; i++) {
        cb_init(&rcb[i], fd, rbuf[i], SZ, off_of(i));
        CHECK_EQ(aio_read(&rcb[i]), 0);
    }
    const struct aiocb *list[1] = { &pcb };
    atomic_store(&tid, gettid());
    aio_suspend(list, 1, NULL);
    atomic_store(&returned, 1);
    pthread_cleanup_pop(0);
    return NULL;
}

int main(void)
{
    fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    for (round_no = 0; round_no < ROUNDS; round_no++) {
        int p[2];
        make_pipe(p);
        pipe_rd = p[0];
        memset(rbuf, 0, sizeof rbuf);
        memset(pbuf, 0, sizeof pbuf);
        atomic_store(&tid, 0);
        atomic_store(&cleaned, 0);
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
        WAIT_UNTIL(atomic_load(&tid) != 0, DONE_MS);
        /* Cancelled asleep in most rounds; the first rounds also while it may not sleep yet. */
        if (round_no >= 2)
            wait_thread_sleeping(atomic_load(&tid), NULL, DONE_MS);
        CHECK_EQ(pthread_cancel(t), 0);
        void *ret = NULL;
        CHECK_EQ(pthread_join(t, &ret), 0);
        if (ret != PTHREAD_CANCELED)
            die("round %d: the thread was not cancelled", round_no);
        CHECK_EQ(atomic_load(&returned), 0);
        CHECK_EQ(atomic_load(&cleaned), 1);
        /* Another thread (this one) reaps them all. */
        for (int i = 0; i < N; i++) {
            wait_done(&rcb[i]);
            CHECK_DONE_OK(&rcb[i], SZ);
            CHECK_PAT(rbuf[i], SZ, (long long)off_of(i), SEED);
        }
        CHECK_EQ(aio_error(&pcb), EINPROGRESS);
        write_all(p[1], "ping", 4);
        wait_done(&pcb);
        CHECK_DONE_OK(&pcb, 4);
        CHECK(memcmp(pbuf, "ping", 4) == 0);
        check_pipe_read_once(p);
        close(p[0]);
        close(p[1]);
    }
    return 0;
}
