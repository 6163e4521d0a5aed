/* DESCRIPTION: aio_read/aio_write on eventfd, timerfd, signalfd and inotify descriptors behave like read/write: the data is transferred (also for a read that waits), or the request fails with the errno read/write gives */
#include "support/fdtest.h"
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

/* A read that has to wait: submitted, still in progress, then `trigger`
 * makes data available and the read completes with it. */
static void pending_read(int fd, void *buf, size_t n, void (*trigger)(void),
                         const char *what, ssize_t *got)
{
    struct aiocb cb;
    cb_init(&cb, fd, buf, n, 0);
    CHECK_EQ(aio_read(&cb), 0);
    int e = aio_error(&cb);
    if (e != EINPROGRESS)
        die("%s: a read with nothing to read completed at once with error "
            "%d (%s)", what, e, strerror(e));
    trigger();
    wait_done(&cb);
    if (aio_error(&cb) != 0)
        die("%s: error %d (%s)", what, aio_error(&cb),
            strerror(aio_error(&cb)));
    *got = aio_return(&cb);
}

static int efd;
static void efd_add3(void)
{
    uint64_t v = 3;
    CHECK_EQ(write(efd, &v, 8), 8);
}

static int tfd;
static void arm_timer(void)
{
    struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000000 } };
    SYS(timerfd_settime(tfd, 0, &its, NULL));
}

static void raise_usr2(void) { SYS(kill(getpid(), SIGUSR2)); }

static char dir[4096];
static int nfiles;
static void create_file(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/f%d", dir, nfiles++);
    int fd = SYS(open(path, O_CREAT | O_WRONLY, 0600));
    close(fd);
}

static void check_inotify(const char *buf, ssize_t n, const char *what)
{
    const struct inotify_event *ev = (const void *)buf;
    if (n < (ssize_t)sizeof *ev || !(ev->mask & IN_CREATE))
        die("%s: %zd bytes, not an IN_CREATE event", what, n);
}

int main(void)
{
    /* SIGUSR2 is for the signalfd: blocked before any thread exists */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &usr2, NULL), 0);
    uint64_t v;
    char small[4];
    struct rw_outcome o;

    /* eventfd */
    efd = SYS(eventfd(0, EFD_CLOEXEC));
    v = 7;
    expect_bytes(aio_rw(efd, 1, &v, 8, 0, "eventfd: aio_write"), 8,
                 "eventfd: aio_write");
    v = 0;
    expect_bytes(aio_rw(efd, 0, &v, 8, 4096, "eventfd: aio_read"), 8,
                 "eventfd: aio_read");
    CHECK_EQ(v, 7);
    ssize_t got;
    v = 0;
    pending_read(efd, &v, 8, efd_add3, "eventfd: a read that waits", &got);
    CHECK_EQ(got, 8);
    CHECK_EQ(v, 3);
    int e = SYS_ERRNO(read(efd, small, sizeof small));
    o = aio_rw(efd, 0, small, sizeof small, 0, "eventfd: aio_read of 4 bytes");
    expect_errno(o, e, "eventfd: aio_read of 4 bytes");

    /* timerfd */
    tfd = SYS(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    v = 0;
    pending_read(tfd, &v, 8, arm_timer, "timerfd: a read that waits", &got);
    CHECK_EQ(got, 8);
    CHECK(v >= 1);
    v = 1;
    e = SYS_ERRNO(write(tfd, &v, 8));
    expect_errno(aio_rw(tfd, 1, &v, 8, 0, "timerfd: aio_write"), e,
                 "timerfd: aio_write");
    arm_timer();
    v = 0;
    o = aio_rw(tfd, 0, &v, 8, 0, "timerfd: aio_read");
    expect_bytes(o, 8, "timerfd: aio_read");
    CHECK(v >= 1);

    /* signalfd */
    int sfd = SYS(signalfd(-1, &usr2, SFD_CLOEXEC));
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    raise_usr2();
    expect_bytes(aio_rw(sfd, 0, &si, sizeof si, 0, "signalfd: aio_read"),
                 sizeof si, "signalfd: aio_read");
    CHECK_EQ(si.ssi_signo, SIGUSR2);
    memset(&si, 0, sizeof si);
    pending_read(sfd, &si, sizeof si, raise_usr2, "signalfd: a read that waits",
                 &got);
    CHECK_EQ(got, sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR2);
    e = SYS_ERRNO(write(sfd, &si, sizeof si));
    expect_errno(aio_rw(sfd, 1, &si, sizeof si, 0, "signalfd: aio_write"), e,
                 "signalfd: aio_write");

    /* inotify */
    snprintf(dir, sizeof dir, "%s/aio-ctest-dir-XXXXXX", tmp_dir());
    if (!mkdtemp(dir))
        die("mkdtemp");
    int ifd = SYS(inotify_init1(IN_CLOEXEC));
    SYS(inotify_add_watch(ifd, dir, IN_CREATE));
    static char ibuf[4096];
    create_file();
    o = aio_rw(ifd, 0, ibuf, sizeof ibuf, 0, "inotify: aio_read");
    if (o.sub_errno || o.err)
        expect_bytes(o, sizeof(struct inotify_event), "inotify: aio_read");
    check_inotify(ibuf, o.ret, "inotify: aio_read");
    pending_read(ifd, ibuf, sizeof ibuf, create_file,
                 "inotify: a read that waits", &got);
    check_inotify(ibuf, got, "inotify: a read that waits");
    e = SYS_ERRNO(write(ifd, ibuf, 16));
    expect_errno(aio_rw(ifd, 1, ibuf, 16, 0, "inotify: aio_write"), e,
                 "inotify: aio_write");
    for (int i = 0; i < nfiles; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
