/* DESCRIPTION: a thread asleep in epoll_wait on a completion queue is woken by the completion itself: over 200 pipe reads and 200 O_DIRECT reads the library's helper threads hardly run */
#define TEST_ALARM 30
#include "support/ext.h"
#include <dirent.h>

#define BLK 4096
enum { N = 200 };

/* Voluntary context switches of the library's queue helper threads (aio-rs-h*). */
static long long helper_switches(void)
{
    long long sum = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        die("opendir /proc/self/task");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int helper = fgets(line, sizeof line, f) && strncmp(line, "aio-rs-h", 8) == 0;
        fclose(f);
        if (!helper)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        long long v;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1)
                sum += v;
        fclose(f);
    }
    closedir(d);
    return sum;
}

static int wfd;
static atomic_int go;

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        while (atomic_load(&go) <= i)
            sched_yield();
        pause_us(200); /* the reader is asleep by now */
        write_all(wfd, "m", 1);
    }
    return NULL;
}

static void wait_one(int ep, int q, struct aiocb *cb)
{
    struct aiocb *got[2];
    struct timespec zero = {0, 0};
    long long deadline = now_ms() + DONE_MS;
    for (;;) {
        int k = x_cq_harvest(q, got, 2, &zero);
        if (k == 1 && got[0] == cb)
            return;
        if (k != 0)
            die("harvest returned %d", k);
        if (now_ms() > deadline)
            die("no completion");
        ep_ready(ep, 1000);
    }
}

int main(void)
{
    cq_require();
    /* Under AIO_RS_BACKEND=uring a helper thread submits every request to the ring (a program
     * thread that did would have its own system calls interrupted by the ring's task work), so
     * the helpers run once per request there by design. */
    const char *backend = getenv("AIO_RS_BACKEND");
    if (backend && strcmp(backend, "uring") == 0) {
        printf("skip: with AIO_RS_BACKEND=uring the helper threads submit every request\n");
        return 77;
    }
    int q;
    int ep = cq_epoll(&q);
    int p[2];
    make_pipe(p);
    wfd = p[1];
    char c;
    struct aiocb cb;
    /* warm up: start the engine, its helper and a worker */
    cb_init(&cb, p[0], &c, 1, 0);
    cb_queue(&cb, q);
    CHECK_EQ(aio_read(&cb), 0);
    write_all(p[1], "w", 1);
    wait_one(ep, q, &cb);
    pause_us(20000);

    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    long long h0 = helper_switches();
    for (int i = 0; i < N; i++) {
        cb_init(&cb, p[0], &c, 1, 0);
        cb_queue(&cb, q);
        CHECK_EQ(aio_read(&cb), 0);
        atomic_store(&go, i + 1);
        wait_one(ep, q, &cb);
        CHECK_DONE_OK(&cb, 1);
    }
    pthread_join(t, NULL);
    long long pipe_switches = helper_switches() - h0;

    long long direct_switches = -1, direct_ms = 0;
    int dfd = tmp_open(O_DIRECT);
    if (dfd >= 0) {
        char *buf;
        CHECK_EQ(posix_memalign((void **)&buf, BLK, BLK), 0);
        memset(buf, 7, BLK);
        SYS(pwrite(dfd, buf, BLK, 0));
        h0 = helper_switches();
        long long t0 = now_ms();
        for (int i = 0; i < N; i++) {
            cb_init(&cb, dfd, buf, BLK, 0);
            cb_queue(&cb, q);
            CHECK_EQ(aio_read(&cb), 0);
            wait_one(ep, q, &cb);
            CHECK_DONE_OK(&cb, BLK);
        }
        direct_switches = helper_switches() - h0;
        direct_ms = now_ms() - t0;
    }
    printf("helper wake-ups over %d completions: pipe %lld, O_DIRECT %lld in %lld ms\n", N, pipe_switches,
           direct_switches, direct_ms);
    if (pipe_switches > N / 10)
        die("the helper threads ran for the pipe completions");
    /* While kernel AIO requests are in flight the helper also looks at the completion ring every
     * 1-4 ms, and 250 us after a look that found completions nobody was reaping yet (it keeps the
     * aiocbs' own status fields current for programs that only poll them): up to four wake-ups
     * per millisecond of the loop on top. Only a loop fast enough that this allowance stays
     * below one wake-up per completion can tell; a slow disk or a loaded machine cannot. */
    long long allowed = N / 10 + direct_ms * 4;
    if (direct_switches >= 0 && allowed >= N)
        printf("O_DIRECT loop too slow (%lld ms) to tell the helper's ticks from wake-ups per "
               "completion: not judged\n", direct_ms);
    else if (direct_switches > allowed)
        die("the helper threads ran for the O_DIRECT completions");
    return 0;
}
