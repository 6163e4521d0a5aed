/* DESCRIPTION: 3 threads x 8 files of random aio_write/aio_read/aio_fsync/lio_listio/aio_cancel at depth 32 match a model while a fourth thread closes and reopens the files' descriptors and does closefrom rounds under requests in flight; each request completes (against its file, or ECANCELED) and notifies exactly once, and none touches the files and pipes that reuse the numbers */
/* GLIBC-XFAIL: glibc runs queued requests by descriptor number, so after a close or closefrom round they read and write the files that reuse the numbers (10 runs in 10 on the reference machine); also, after aio_cancel(fd, NULL) it can leave later requests on that file in EINPROGRESS forever, never notified */
#define TEST_ALARM 25
#include "support/fdtest.h"

#define THREADS 3
#define FILES 8
#define BLK 4096
#define NBLK 64      /* blocks per file */
#define DEPTH 32     /* requests in flight per thread */
#define RUN_MS 1500  /* submission phase */
#define MAX_REQ (1 << 20)

enum { OP_READ, OP_WRITE, OP_FSYNC };

/* Each file is open twice: `master` (never closed; the model is checked
 * through it) and `fds`, the number AIO uses, which the chaos thread closes
 * and replaces by a new dup of the master, with requests in flight.  The
 * numbers it frees are taken by decoy files and pipes of the program (in
 * `decoys` and `reused`), which no request may ever touch.  Submitters hold
 * `fdlock` for reading while they use `fds`; the chaos thread holds it for
 * writing while it swaps numbers (never across a wait for completions). */
static int master[FILES];
static int fds[FILES];
static atomic_uint gen[FILES]; /* times fds[f] was closed (changed under fdlock) */
static pthread_rwlock_t fdlock;
static int keep_from;       /* closefrom rounds close every fd >= this */
static struct reuse_set decoys, reused;
static atomic_int closes, closefroms;
static unsigned model[FILES][NBLK];  /* pattern seed of each block */
static unsigned char inflight[FILES][NBLK]; /* only the owner touches it */
static atomic_int notified[MAX_REQ];
static atomic_int next_id, total_notified, cancelled;

struct slot {
    struct aiocb cb;
    int busy, op, file, blk, lio;
    unsigned gen; /* gen[file] at submission */
    unsigned seed, prev; /* prev: the block's seed before this write (restored if cancelled) */
    char *buf;
};

static void callback(union sigval v)
{
    atomic_fetch_add(&notified[v.sival_int], 1);
    atomic_fetch_add(&total_notified, 1);
}

static unsigned rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static long long blk_off(int blk) { return (long long)blk * BLK; }
static long long global_off(int f, int blk) { return ((long long)f * NBLK + blk) * BLK; }

/* Prepare slot s for a random op on a block owned by thread t. */
static int prepare(struct slot *s, int t, unsigned *rs)
{
    unsigned r = rnd(rs) % 100;
    int f = 0, b = 0, found = 0;
    for (int tries = 0; tries < 16 && !found; tries++) {
        f = rnd(rs) % FILES;
        b = rnd(rs) % NBLK;
        found = (f * NBLK + b) % THREADS == t && !inflight[f][b];
    }
    if (!found)
        return 0;
    s->op = r < 3 ? OP_FSYNC : r < 50 ? OP_WRITE : OP_READ;
    s->file = f;
    s->blk = b;
    int id = atomic_fetch_add(&next_id, 1);
    if (id >= MAX_REQ)
        die("too many requests");
    cb_init(&s->cb, fds[f], s->buf, BLK, blk_off(b));
    s->gen = gen[f];
    s->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    s->cb.aio_sigevent.sigev_notify_function = callback;
    s->cb.aio_sigevent.sigev_value.sival_int = id;
    if (s->op == OP_WRITE) {
        s->seed = rnd(rs) | 1;
        pat_fill(s->buf, BLK, global_off(f, b), s->seed);
        s->prev = model[f][b];
        model[f][b] = s->seed; /* the content once this write is done */
        s->cb.aio_lio_opcode = LIO_WRITE;
    } else if (s->op == OP_READ) {
        s->seed = model[f][b];
        memset(s->buf, 0, BLK);
        s->cb.aio_lio_opcode = LIO_READ;
    }
    if (s->op != OP_FSYNC)
        inflight[f][b] = 1;
    s->busy = 1;
    s->lio = 0;
    return 1;
}

static void reap(struct slot *s)
{
    int e = aio_error(&s->cb);
    ssize_t r = aio_return(&s->cb);
    if (e == ECANCELED) {
        /* Cancelled before it touched the file: a write left the old content. */
        CHECK_EQ(r, -1);
        if (s->op == OP_WRITE)
            model[s->file][s->blk] = s->prev;
        if (s->op != OP_FSYNC)
            inflight[s->file][s->blk] = 0;
        s->busy = 0;
        atomic_fetch_add(&cancelled, 1);
        return;
    }
    const char *closed = s->gen != gen[s->file]
        ? " (its descriptor was closed while it was in flight: it must "
          "complete against its own file, or with ECANCELED)" : "";
    if (e != 0)
        die("op %d on file %d block %d failed: %s%s", s->op, s->file, s->blk,
            strerror(e), closed);
    if (r != (s->op == OP_FSYNC ? 0 : BLK))
        die("op %d on file %d block %d returned %zd%s", s->op, s->file,
            s->blk, r, closed);
    if (s->op == OP_READ) {
        long long off = global_off(s->file, s->blk);
        for (int i = 0; i < BLK; i++)
            if ((unsigned char)s->buf[i] != pat_byte(off + i, s->seed))
                die("read of file %d block %d: wrong data at byte %d (got "
                    "0x%02x, expected 0x%02x)%s", s->file, s->blk, i,
                    (unsigned char)s->buf[i], pat_byte(off + i, s->seed),
                    closed);
    }
    if (s->op != OP_FSYNC)
        inflight[s->file][s->blk] = 0;
    s->busy = 0;
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    unsigned rs = 0x9E3779B9u * (unsigned)(t + 1);
    static struct slot slots[THREADS][DEPTH];
    struct slot *sl = slots[t];
    for (int i = 0; i < DEPTH; i++)
        if (posix_memalign((void **)&sl[i].buf, BLK, BLK) != 0)
            die("posix_memalign");
    long long stop = now_ms() + RUN_MS;
    for (;;) {
        int submitting = now_ms() < stop, busy = 0;
        if (submitting) {
            pthread_rwlock_rdlock(&fdlock);
            struct aiocb *batch[DEPTH];
            int nb = 0, use_lio = rnd(&rs) % 4 == 0;
            for (int i = 0; i < DEPTH; i++) {
                struct slot *s = &sl[i];
                if (s->busy || !prepare(s, t, &rs))
                    continue;
                int r;
                if (s->op == OP_FSYNC)
                    r = aio_fsync(rnd(&rs) % 2 ? O_SYNC : O_DSYNC, &s->cb);
                else if (use_lio) {
                    s->lio = 1;
                    batch[nb++] = &s->cb;
                    continue;
                } else if (s->op == OP_WRITE)
                    r = aio_write(&s->cb);
                else
                    r = aio_read(&s->cb);
                if (r != 0)
                    die("submit op %d", s->op);
            }
            if (nb > 0 && lio_listio(LIO_NOWAIT, batch, nb, NULL) != 0)
                die("lio_listio of %d", nb);
            /* Now and then, cancel one of our requests, or everything on a file (which also
             * hits the other threads' requests there: each handles its own ECANCELED). */
            unsigned c = rnd(&rs) % 64;
            if (c == 0) {
                int r = aio_cancel(fds[rnd(&rs) % FILES], NULL);
                if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
                    die("aio_cancel(fd, NULL) returned %d", r);
            } else if (c < 4) {
                struct slot *s = &sl[rnd(&rs) % DEPTH];
                /* only through the number it was submitted on, still open */
                if (s->busy && s->gen == gen[s->file]) {
                    int r = aio_cancel(s->cb.aio_fildes, &s->cb);
                    if (r == AIO_CANCELED && aio_error(&s->cb) != ECANCELED)
                        die("AIO_CANCELED but aio_error %d", aio_error(&s->cb));
                    if (r != AIO_CANCELED && r != AIO_NOTCANCELED && r != AIO_ALLDONE)
                        die("aio_cancel returned %d", r);
                }
            }
            pthread_rwlock_unlock(&fdlock);
        }
        const struct aiocb *list[DEPTH];
        for (int i = 0; i < DEPTH; i++) {
            list[i] = sl[i].busy ? &sl[i].cb : NULL;
            busy += sl[i].busy;
        }
        if (!busy) {
            if (!submitting)
                break;
            continue;
        }
        struct timespec ts = ms_ts(3000);
        if (aio_suspend(list, DEPTH, &ts) != 0 && errno != EINTR) {
            static const char *names[] = { "read", "write", "fsync" };
            for (int i = 0; i < DEPTH; i++)
                if (sl[i].busy)
                    fprintf(stderr, "  stuck: %s%s file %d block %d, id %d, "
                            "aio_error %d, notified %d\n", names[sl[i].op],
                            sl[i].lio ? " (lio_listio)" : "", sl[i].file,
                            sl[i].blk, sl[i].cb.aio_sigevent.sigev_value.sival_int,
                            aio_error(&sl[i].cb),
                            atomic_load(&notified[sl[i].cb.aio_sigevent.sigev_value.sival_int]));
            die("thread %d: aio_suspend with %d requests in flight", t, busy);
        }
        for (int i = 0; i < DEPTH; i++)
            if (sl[i].busy && aio_error(&sl[i].cb) != EINPROGRESS)
                reap(&sl[i]);
    }
    for (int i = 0; i < DEPTH; i++)
        free(sl[i].buf);
    return NULL;
}

/* Close file f's AIO descriptor with its requests in flight; a decoy file
 * takes the lowest free number (often the one just closed), then the file
 * gets a new number.  Under fdlock (write). */
static void close_one(int f)
{
    atomic_fetch_add(&gen[f], 1);
    SYS(close(fds[f]));
    if (decoys.n < 64)
        reuse_add(&decoys, 0);
    fds[f] = SYS(dup(master[f]));
    atomic_fetch_add(&closes, 1);
}

/* The daemon's closefrom: every descriptor above the masters goes (the AIO
 * numbers, decoys, and whatever the implementation had), files and pipes
 * take the freed numbers, then the files get new numbers.  Under fdlock. */
static void closefrom_round(void)
{
    reuse_check_open(&decoys, "before a closefrom round (decoys)");
    reuse_check_data(&decoys, "before a closefrom round (decoys)");
    reuse_check_open(&reused, "before a closefrom round");
    reuse_check_data(&reused, "before a closefrom round");
    int hi = highest_fd();
    for (int f = 0; f < FILES; f++)
        atomic_fetch_add(&gen[f], 1);
    close_from(keep_from);
    decoys.n = 0;
    reuse_fill(&reused, hi);
    for (int f = 0; f < FILES; f++)
        fds[f] = SYS(dup(master[f]));
    atomic_fetch_add(&closefroms, 1);
}

static void *chaos(void *arg)
{
    (void)arg;
    unsigned rs = 0xC4A05u;
    long long stop = now_ms() + RUN_MS;
    while (now_ms() < stop) {
        pause_us(5000 + rnd(&rs) % 20000); /* pacing, not synchronisation */
        pthread_rwlock_wrlock(&fdlock);
        if (rnd(&rs) % 6 == 0)
            closefrom_round();
        else
            close_one(rnd(&rs) % FILES);
        pthread_rwlock_unlock(&fdlock);
    }
    return NULL;
}

int main(void)
{
    static char buf[NBLK * BLK];
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fdlock, &ra);
    for (int f = 0; f < FILES; f++) {
        master[f] = tmp_open(0);
        if (master[f] >= keep_from)
            keep_from = master[f] + 1;
        for (int b = 0; b < NBLK; b++) {
            model[f][b] = 1000u + (unsigned)(f * NBLK + b);
            pat_fill(buf + b * BLK, BLK, global_off(f, b), model[f][b]);
        }
        CHECK_EQ(pwrite(master[f], buf, sizeof buf, 0), sizeof buf);
    }
    for (int f = 0; f < FILES; f++)
        fds[f] = SYS(dup(master[f]));
    pthread_t th[THREADS], ch;
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    CHECK_EQ(pthread_create(&ch, NULL, chaos, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_join(ch, NULL);
    int n = atomic_load(&next_id);
    WAIT_UNTIL(atomic_load(&total_notified) >= n, DONE_MS);
    pause_us(50000); /* grace period for duplicates */
    for (int i = 0; i < n; i++)
        if (atomic_load(&notified[i]) != 1)
            die("request %d notified %d times", i, atomic_load(&notified[i]));
    CHECK_EQ(atomic_load(&total_notified), n);
    for (int f = 0; f < FILES; f++) {
        CHECK_EQ(pread(master[f], buf, sizeof buf, 0), sizeof buf);
        for (int b = 0; b < NBLK; b++)
            CHECK_PAT(buf + b * BLK, BLK, global_off(f, b), model[f][b]);
    }
    reuse_check_open(&decoys, "at the end (decoys)");
    reuse_check_data(&decoys, "at the end (decoys)");
    reuse_check_open(&reused, "at the end");
    reuse_check_data(&reused, "at the end");
    printf("%d requests, %d cancelled, %d closes, %d closefrom rounds\n", n,
           atomic_load(&cancelled), atomic_load(&closes),
           atomic_load(&closefroms));
    return 0;
}
