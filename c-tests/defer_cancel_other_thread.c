/* DESCRIPTION: aio_cancel from another thread, by aiocb and then by descriptor, of reads a thread is deferring into a batch at that moment: AIO_CANCELED only for a read that ends with ECANCELED, return -1 and its buffer untouched; AIO_ALLDONE only for one already done; every other read completes once with the right data */
#include "support/defer.h"

#define SEED 65
enum { N = 16, SZ = 4096, ROUNDS = 20, FILL = 0x5a };

static struct aiocb cb[N];
static char buf[N][SZ];
static int fd, round_no;
static atomic_int submitted;

static off_t off_of(int i) { return (off_t)SZ * (3 * i + round_no); }

static void *submitter(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        cb_init(&cb[i], fd, buf[i], SZ, off_of(i));
        CHECK_EQ(aio_read(&cb[i]), 0);
        atomic_store(&submitted, i + 1);
    }
    return NULL;
}

static int untouched(int i)
{
    for (int k = 0; k < SZ; k++)
        if ((unsigned char)buf[i][k] != FILL)
            return 0;
    return 1;
}

int main(void)
{
    fd = tmp_pattern_file(1 << 20, SEED);
    defer_prime(fd, SEED);
    int canceled = 0, alldone = 0, notcanceled = 0;
    for (round_no = 0; round_no < ROUNDS; round_no++) {
        memset(buf, FILL, sizeof buf);
        atomic_store(&submitted, 0);
        int said[N];
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, submitter, NULL), 0);
        /* Each read cancelled as soon as it is submitted, every other one; then the rest by
         * descriptor while the thread may still be submitting. */
        long long deadline = now_ms() + DONE_MS;
        for (int i = 0; i < N; i += 2) {
            while (atomic_load(&submitted) <= i)
                if (now_ms() > deadline)
                    die("round %d: read %d not submitted in %d ms", round_no, i, DONE_MS);
            said[i] = aio_cancel(fd, &cb[i]);
            int e = aio_error(&cb[i]);
            switch (said[i]) {
            case AIO_CANCELED:
                canceled++;
                if (e != ECANCELED || aio_return(&cb[i]) != -1 || !untouched(i))
                    die("round %d read %d: AIO_CANCELED but error %d, buffer %s", round_no, i,
                        e, untouched(i) ? "untouched" : "written");
                break;
            case AIO_ALLDONE:
                alldone++;
                if (e == EINPROGRESS)
                    die("round %d read %d: AIO_ALLDONE but still in progress", round_no, i);
                break;
            case AIO_NOTCANCELED:
                notcanceled++;
                break;
            default:
                die("round %d read %d: aio_cancel returned %d", round_no, i, said[i]);
            }
        }
        int all = aio_cancel(fd, NULL);
        if (all != AIO_CANCELED && all != AIO_NOTCANCELED && all != AIO_ALLDONE)
            die("round %d: aio_cancel(fd, NULL) returned %d", round_no, all);
        CHECK_EQ(pthread_join(t, NULL), 0);
        for (int i = 0; i < N; i++) {
            wait_done(&cb[i]);
            int e = aio_error(&cb[i]);
            ssize_t r = aio_return(&cb[i]);
            if (e == ECANCELED) {
                if (r != -1 || !untouched(i))
                    die("round %d read %d: ECANCELED with return %zd, buffer %s", round_no, i,
                        r, untouched(i) ? "untouched" : "written");
                if (i % 2 == 0 && said[i] != AIO_CANCELED && all != AIO_CANCELED)
                    die("round %d read %d: ECANCELED although no aio_cancel said AIO_CANCELED",
                        round_no, i);
            } else if (e == 0 && r == SZ) {
                if (i % 2 == 0 && said[i] == AIO_CANCELED)
                    die("round %d read %d: done although cancelled", round_no, i);
                CHECK_PAT(buf[i], SZ, (long long)off_of(i), SEED);
            } else {
                die("round %d read %d: error %d (%s), return %zd", round_no, i, e, strerror(e), r);
            }
        }
    }
    printf("by aiocb: %d canceled, %d all done, %d not canceled\n", canceled, alldone,
           notcanceled);
    return 0;
}
