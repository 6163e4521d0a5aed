/* DESCRIPTION: fork, 60 times, while two other threads keep submitting and reaping every kind of request (deferred page-cached reads, O_DIRECT reads, pipe round trips waited for alone, SIGEV_THREAD writes, aio_cancel): each child, whatever lock a thread held at the fork, can use AIO of every kind at once and exits within its bound; the parent's requests all complete */
#define TEST_ALARM 60
#include "support/defer.h"
#include "support/stream.h"

#define SEED 63
enum { SZ = 4096, NFORK = 60 };

static int ffd, dfd = -1;
static atomic_int stop, cb_runs, cb_asked;
static atomic_long rounds[2];

static void on_done(union sigval v)
{
    (void)v;
    atomic_fetch_add(&cb_runs, 1);
}

/* Deferred reads, an O_DIRECT read, SIGEV_THREAD writes. */
static void *file_worker(void *arg)
{
    (void)arg;
    static char bufs[8][SZ] __attribute__((aligned(4096)));
    static char dbuf[SZ] __attribute__((aligned(4096)));
    static char wbuf[64];
    int wfd = tmp_open(0);
    for (long n = 0; !atomic_load(&stop); n++) {
        struct aiocb cb[8], d, w;
        for (int i = 0; i < 8; i++) {
            cb_init(&cb[i], ffd, bufs[i], SZ, (off_t)SZ * ((n + i) % 200));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        if (dfd >= 0) {
            cb_init(&d, dfd, dbuf, SZ, (off_t)SZ * (n % 200));
            CHECK_EQ(aio_read(&d), 0);
        }
        cb_init(&w, wfd, wbuf, sizeof wbuf, (off_t)(n % 100) * 64);
        w.aio_sigevent.sigev_notify = SIGEV_THREAD;
        w.aio_sigevent.sigev_notify_function = on_done;
        CHECK_EQ(aio_write(&w), 0);
        atomic_fetch_add(&cb_asked, 1);
        for (int i = 0; i < 8; i++) {
            wait_done(&cb[i]);
            CHECK_DONE_OK(&cb[i], SZ);
            CHECK_PAT(bufs[i], SZ, (long long)SZ * ((n + i) % 200), SEED);
        }
        if (dfd >= 0) {
            wait_done(&d);
            CHECK_DONE_OK(&d, SZ);
            CHECK_PAT(dbuf, SZ, (long long)SZ * (n % 200), SEED);
        }
        wait_done(&w);
        CHECK_DONE_OK(&w, (ssize_t)sizeof wbuf);
        atomic_fetch_add(&rounds[0], 1);
    }
    return NULL;
}

/* Pipe reads waited for alone (claimed by the waiter), pipe writes, a cancelled read. */
static void *pipe_worker(void *arg)
{
    (void)arg;
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    for (long n = 0; !atomic_load(&stop); n++) {
        char in = 0, out = (char)n, junk;
        struct aiocb r, w, c;
        cb_init(&r, a[0], &in, 1, 0);
        CHECK_EQ(aio_read(&r), 0);
        cb_init(&w, a[1], &out, 1, 0);
        CHECK_EQ(aio_write(&w), 0);
        wait_done(&r);
        CHECK_DONE_OK(&r, 1);
        CHECK_EQ(in, out);
        wait_done(&w);
        CHECK_DONE_OK(&w, 1);
        cb_init(&c, b[0], &junk, 1, 0);
        CHECK_EQ(aio_read(&c), 0);
        int cr = aio_cancel(b[0], &c);
        CHECK(cr == AIO_CANCELED || cr == AIO_NOTCANCELED);
        if (cr == AIO_NOTCANCELED) {
            write_all(b[1], "x", 1);
            wait_done(&c);
            CHECK_DONE_OK(&c, 1);
        } else {
            CHECK_EQ(aio_error(&c), ECANCELED);
            CHECK_EQ(aio_return(&c), -1);
        }
        atomic_fetch_add(&rounds[1], 1);
    }
    return NULL;
}

/* In the child: one request of each kind, each bounded. */
static int child_uses_aio(void)
{
    alarm(10);
    static char buf[SZ] __attribute__((aligned(4096)));
    struct aiocb cb[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&cb[i], ffd, buf, SZ / 4, (off_t)SZ * 7 + (SZ / 4) * i);
        cb[i].aio_buf = buf + (SZ / 4) * i;
        if (aio_read(&cb[i]) != 0)
            return 2;
    }
    for (int i = 0; i < 4; i++) {
        wait_done(&cb[i]);
        if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != SZ / 4)
            return 3;
    }
    for (int k = 0; k < SZ; k++)
        if ((unsigned char)buf[k] != pat_byte(SZ * 7 + k, SEED))
            return 4;
    if (dfd >= 0) {
        struct aiocb d;
        cb_init(&d, dfd, buf, SZ, SZ * 9);
        if (aio_read(&d) != 0)
            return 5;
        wait_done(&d);
        if (aio_error(&d) != 0 || aio_return(&d) != SZ)
            return 6;
    }
    int p[2];
    if (pipe(p) != 0)
        return 7;
    char in = 0;
    struct aiocb r, w;
    cb_init(&r, p[0], &in, 1, 0);
    if (aio_read(&r) != 0)
        return 8;
    cb_init(&w, p[1], "z", 1, 0);
    w.aio_sigevent.sigev_notify = SIGEV_THREAD;
    w.aio_sigevent.sigev_notify_function = on_done;
    int before = atomic_load(&cb_runs);
    if (aio_write(&w) != 0)
        return 9;
    wait_done(&r);
    wait_done(&w);
    if (aio_return(&r) != 1 || in != 'z' || aio_return(&w) != 1)
        return 10;
    WAIT_UNTIL(atomic_load(&cb_runs) > before, DONE_MS);
    return 0;
}

int main(void)
{
    ffd = tmp_pattern_file(SZ * 200, SEED);
    defer_prime(ffd, SEED);
    dfd = tmp_open(O_DIRECT);
    if (dfd >= 0) {
        static char chunk[SZ * 200] __attribute__((aligned(4096)));
        pat_fill(chunk, sizeof chunk, 0, SEED);
        if (pwrite(dfd, chunk, sizeof chunk, 0) != (ssize_t)sizeof chunk)
            die("pwrite O_DIRECT");
    }
    pthread_t t[2];
    SYS(pthread_create(&t[0], NULL, file_worker, NULL) == 0 ? 0 : -1);
    SYS(pthread_create(&t[1], NULL, pipe_worker, NULL) == 0 ? 0 : -1);
    int use_aio = is_aio_rs((void *)aio_read);
    for (int i = 0; i < NFORK; i++) {
        /* Fork at a different point of the threads' loops each time. */
        pause_us(300 + (i * 137) % 1500);
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            /* glibc's AIO is not usable in a child forked with requests in flight. */
            _exit(use_aio ? child_uses_aio() : 0);
        int st = wait_child_ms(pid, 15000, "child");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("child %d failed (status 0x%x)", i, st);
    }
    atomic_store(&stop, 1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    CHECK(atomic_load(&rounds[0]) > 0 && atomic_load(&rounds[1]) > 0);
    WAIT_UNTIL(atomic_load(&cb_runs) == atomic_load(&cb_asked), DONE_MS);
    return 0;
}
