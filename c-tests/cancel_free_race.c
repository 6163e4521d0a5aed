/* DESCRIPTION: while one thread reaps pending pipe reads as they complete and frees their aiocbs at once (scribbled over, then unmapped or free()d and reused), another calls aio_cancel(fd, NULL) in a loop: no crash, every request completes */
#define TEST_ALARM 20
#include "support/fdtest.h"
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define K 8          /* requests per round */
#define RUN_MS 3000  /* rounds for this long */

static int p[2];

/* Each aiocb (and its buffer) has a page of its own, unmapped as soon as the
 * request is reaped, on odd rounds; on even rounds it comes from malloc and
 * is scribbled over before free(), so the next round reuses the memory.  Any
 * access to a reaped request then faults or sees garbage. */
static struct aiocb *new_cb(long round, char **buf)
{
    char *mem;
    if (round % 2) {
        mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            die("mmap");
    } else {
        mem = malloc(sizeof(struct aiocb) + 16);
        if (!mem)
            die("malloc");
    }
    *buf = mem + sizeof(struct aiocb);
    return (struct aiocb *)mem;
}

static void free_cb(long round, struct aiocb *cb)
{
    memset(cb, 0xff, sizeof *cb + 16);
    if (round % 2)
        SYS(munmap(cb, 4096));
    else
        free(cb);
}
static atomic_int stop, cancels;

static void *canceller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int r = aio_cancel(p[0], NULL);
        if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
            die("aio_cancel(fd, NULL) returned %d", r);
        atomic_fetch_add(&cancels, 1);
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    make_pipe(p);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, canceller, NULL), 0);
    long long stop_at = now_ms() + RUN_MS;
    long rounds = 0, cancelled = 0, done = 0;
    while (now_ms() < stop_at) {
        struct aiocb *cbs[K];
        int live = 0;
        for (int i = 0; i < K; i++) {
            char *buf;
            cbs[i] = new_cb(rounds, &buf);
            cb_init(cbs[i], p[0], buf, 16, 0);
            if (aio_read(cbs[i]) != 0)
                die("aio_read");
            live++;
        }
        /* some complete with data, the canceller takes others */
        write_all(p[1], "ab", 2);
        long long deadline = now_ms() + DONE_MS;
        while (live > 0) {
            int reaped = 0;
            for (int i = 0; i < K; i++) {
                if (!cbs[i])
                    continue;
                int e = aio_error(cbs[i]);
                if (e == EINPROGRESS)
                    continue;
                ssize_t r = aio_return(cbs[i]);
                if (e == ECANCELED)
                    cancelled++;
                else if (e == 0 && r > 0)
                    done++;
                else
                    die("read: error %d return %zd", e, r);
                /* legal now: scribble over the request and free it */
                free_cb(rounds, cbs[i]);
                cbs[i] = NULL;
                live--;
                reaped++;
            }
            if (live > 0 && !reaped) {
                if (now_ms() > deadline)
                    die("%d requests still in progress after %d ms", live,
                        DONE_MS);
                /* nothing moved: feed one more byte, unless some are still unread (a loop
                 * that outran the library's threads would fill the pipe, and block in write) */
                int unread = 0;
                SYS(ioctl(p[0], FIONREAD, &unread));
                if (unread == 0)
                    write_all(p[1], "c", 1);
                sched_yield();
            }
        }
        /* leftover bytes would satisfy the next round at once: drop them */
        char sink[256];
        read_available(p[0], sink, sizeof sink);
        rounds++;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("%ld rounds, %ld reads with data, %ld cancelled, %d aio_cancel calls\n",
           rounds, done, cancelled, atomic_load(&cancels));
    CHECK(rounds > 0);
    return 0;
}
