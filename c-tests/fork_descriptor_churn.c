/* DESCRIPTION: fork, again and again, while other threads' requests make and close the library's descriptors (held duplicates of a file being written, of pipe reads that wait): every child starts with exactly the program's descriptors, and every request completes once with its data */
#define TEST_ALARM 60
#include "support/fdset.h"

#define FORKS 150
#define W 8
#define BLK 512

static atomic_int stop;
static int file_fd, pipe_fd[2];

/* Writes batches of W blocks to the file and checks each completes with its length. */
static void *writer(void *arg)
{
    (void)arg;
    static char bufs[W][BLK];
    static struct aiocb cbs[W];
    struct aiocb *list[W];
    for (long round = 0; !atomic_load(&stop); round++) {
        for (int i = 0; i < W; i++) {
            pat_fill(bufs[i], BLK, (long long)i * BLK, (unsigned)round);
            cb_init(&cbs[i], file_fd, bufs[i], BLK, (off_t)i * BLK);
            list[i] = &cbs[i];
            CHECK_EQ(aio_write(&cbs[i]), 0);
        }
        wait_all_ms(list, W, DONE_MS);
        for (int i = 0; i < W; i++)
            CHECK_DONE_OK(&cbs[i], BLK);
    }
    return NULL;
}

/* Reads the pipe with AIO, one byte at a time; the byte is written after the read is submitted,
 * so the read usually waits (parked, holding a duplicate). */
static void *reader(void *arg)
{
    (void)arg;
    for (unsigned char k = 0; !atomic_load(&stop); k++) {
        char c = 0;
        struct aiocb cb;
        cb_init(&cb, pipe_fd[0], &c, 1, 0);
        CHECK_EQ(aio_read(&cb), 0);
        write_all(pipe_fd[1], &k, 1);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 1);
        CHECK_EQ((unsigned char)c, k);
    }
    return NULL;
}

int main(void)
{
    file_fd = tmp_open(0);
    make_pipe(pipe_fd);
    static char before[FDSET_MAX];
    fdset_read(before);
    pthread_t tw, tr;
    CHECK_EQ(pthread_create(&tw, NULL, writer, NULL), 0);
    CHECK_EQ(pthread_create(&tr, NULL, reader, NULL), 0);
    for (int f = 0; f < FORKS; f++) {
        pid_t pid = SYS(fork());
        if (pid == 0)
            fdset_child_exit(before, f);
        wait_child_ok(pid, "child");
    }
    atomic_store(&stop, 1);
    CHECK_EQ(pthread_join(tw, NULL), 0);
    CHECK_EQ(pthread_join(tr, NULL), 0);
    return 0;
}
