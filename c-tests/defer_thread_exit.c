/* DESCRIPTION: threads that each defer several page-cached reads into a batch and exit at once (pthread_exit, no wait; the next thread reuses the exited one's stack and thread pointer) leave every read to complete once with the right data: the status fields become current without a call, and another thread's aio_suspend/aio_error see them done */
#include "support/defer.h"

#define SEED 62
enum { N = 6, SZ = 4096, ROUNDS = 8 };

static struct aiocb cb[ROUNDS][N];
static char buf[ROUNDS][N][SZ];
static int fd;

static off_t off_of(int r, int i) { return (off_t)SZ * (11 * i + r); }

static void *submitter(void *arg)
{
    int r = (int)(intptr_t)arg;
    for (int i = 0; i < N; i++) {
        cb_init(&cb[r][i], fd, buf[r][i], SZ, off_of(r, i));
        CHECK_EQ(aio_read(&cb[r][i]), 0);
    }
    pthread_exit(NULL);
}

int main(void)
{
    fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    /* Each round's reads are left in flight while the next thread submits. */
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, submitter, (void *)(intptr_t)r), 0);
        CHECK_EQ(pthread_join(t, NULL), 0);
    }
    /* Nobody calls the library: the fields become current by themselves. */
    if (fields_complete_alone()) {
        long long deadline = now_ms() + DONE_MS;
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < N; i++)
                while (cb_field_status(&cb[r][i]) == EINPROGRESS)
                    if (now_ms() > deadline)
                        die("round %d read %d: still in progress after %d ms without a call",
                            r, i, DONE_MS);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N; i++) {
            wait_done(&cb[r][i]);
            CHECK_DONE_OK(&cb[r][i], SZ);
            CHECK_PAT(buf[r][i], SZ, (long long)off_of(r, i), SEED);
        }
    return 0;
}
