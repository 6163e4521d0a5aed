/*
 * Helpers for the descriptor-matrix tests on stream descriptors (pipe,
 * socketpair, TCP loopback, pty): making the pairs and the two shared
 * checks (a pending read never blocks the caller; a pending read can be
 * cancelled without eating later data).
 */
#ifndef AIO_CTEST_STREAM_H
#define AIO_CTEST_STREAM_H

#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>

/* fds[0] is read, fds[1] is written. */
CT_FN void make_socketpair(int fds[2])
{
    SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
}

CT_FN void make_tcp_pair(int fds[2])
{
    int ls = SYS(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    a.sin_port = 0;
    SYS(bind(ls, (struct sockaddr *)&a, sizeof a));
    SYS(listen(ls, 1));
    socklen_t len = sizeof a;
    SYS(getsockname(ls, (struct sockaddr *)&a, &len));
    int c = SYS(socket(AF_INET, SOCK_STREAM, 0));
    SYS(connect(c, (struct sockaddr *)&a, sizeof a));
    fds[0] = SYS(accept(ls, NULL, NULL));
    fds[1] = c;
    close(ls);
}

/* fds[0] is the pty's terminal side (raw mode, no echo), fds[1] the master */
CT_FN void make_pty_pair(int fds[2])
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0)
        skip("posix_openpt: %s", strerror(errno));
    SYS(grantpt(m));
    SYS(unlockpt(m));
    char name[128];
    if (ptsname_r(m, name, sizeof name) != 0)
        die("ptsname_r");
    int s = SYS(open(name, O_RDWR | O_NOCTTY));
    struct termios t;
    SYS(tcgetattr(s, &t));
    cfmakeraw(&t);
    SYS(tcsetattr(s, TCSANOW, &t));
    fds[0] = s;
    fds[1] = m;
}

/* Read n bytes that are known to be on their way, with a bound. */
CT_FN void read_soon(int fd, void *buf, size_t n)
{
    char *p = buf;
    long long deadline = now_ms() + DONE_MS;
    while (n > 0) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            die("data did not arrive on fd %d", fd);
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            die("read");
        p += r;
        n -= (size_t)r;
    }
}

/* aio_read on an empty stream returns at once, stays in progress, then
 * completes with the bytes written later. */
CT_FN void check_stream_read(int rfd, int wfd)
{
    static const char msg[] = "stream data 0123456789";
    const size_t n = sizeof msg - 1;
    char buf[256];
    struct aiocb cb;
    cb_init(&cb, rfd, buf, sizeof buf, 0);
    long long t0 = now_ns();
    CHECK_EQ(aio_read(&cb), 0);
    long long dt = now_ns() - t0;
    if (dt > NOBLOCK_NS)
        die("aio_read on an empty descriptor took %lld ms to return",
            dt / 1000000);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    const struct aiocb *list[1] = { &cb };
    struct timespec ts = ms_ts(50);
    CHECK_ERR(aio_suspend(list, 1, &ts), EAGAIN);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);

    write_all(wfd, msg, n);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), 0);
    ssize_t got = aio_return(&cb);
    if (got <= 0 || (size_t)got > n)
        die("aio_return %zd, expected 1..%zu", got, n);
    /* a stream may deliver less than was written: fetch the rest */
    if ((size_t)got < n)
        read_soon(rfd, buf + got, n - (size_t)got);
    CHECK(memcmp(buf, msg, n) == 0);
}

/* A pending aio_read is cancelled, and data written afterwards is still
 * there for a plain read. */
CT_FN void check_stream_cancel(int rfd, int wfd)
{
    char buf[64];
    struct aiocb cb;
    cb_init(&cb, rfd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    CHECK_EQ(aio_error(&cb), EINPROGRESS);
    int r = aio_cancel(rfd, &cb);
    if (r != AIO_CANCELED) {
        write_all(wfd, "unblock", 7);
        wait_done(&cb);
        die("aio_cancel returned %d, expected AIO_CANCELED", r);
    }
    CHECK_EQ(aio_error(&cb), ECANCELED);
    CHECK_EQ(aio_return(&cb), -1);
    write_all(wfd, "after cancel", 12);
    char back[12];
    read_soon(rfd, back, sizeof back);
    CHECK(memcmp(back, "after cancel", 12) == 0);
}

/* A one-byte read on the empty stream rfd, then `byte` written to wfd, the read waited for
 * alone (wait_done): it must return that byte. After it the library expects the thread to wait
 * for the stream's next read alone too (its waiter claims such reads). */
CT_FN void read_fed_byte(int rfd, int wfd, char *buf, char byte)
{
    struct aiocb cb;
    cb_init(&cb, rfd, buf, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    write_all(wfd, &byte, 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ(buf[0], byte);
}

/* A one-byte read on the empty pipe p that its thread waits for alone
 * (aio_suspend on it, first timing out), then fed `byte`: after it, the
 * library expects that thread to wait for the pipe's next read alone too. */
CT_FN void waited_alone(int p[2], char *buf, char byte)
{
    struct aiocb cb;
    cb_init(&cb, p[0], buf, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    const struct aiocb *one[1] = { &cb };
    struct timespec ts = ms_ts(5);
    CHECK_ERR(aio_suspend(one, 1, &ts), EAGAIN);
    write_all(p[1], &byte, 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ(buf[0], byte);
}

static volatile sig_atomic_t stream_sigpipes;

static void stream_on_sigpipe(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    stream_sigpipes++;
}

/* Counts the SIGPIPEs delivered to the program's threads from now on (for
 * check_write_epipe). */
CT_FN void count_sigpipes(void)
{
    on_signal(SIGPIPE, stream_on_sigpipe);
}

/* One aio_write to wfd, whose reading end is closed: it ends with EPIPE,
 * no SIGPIPE is delivered to the program's threads (count_sigpipes first)
 * and none is left pending. */
CT_FN void check_write_epipe(int wfd, const char *what)
{
    char msg[32] = "nobody reads this";
    struct aiocb w;
    cb_init(&w, wfd, msg, sizeof msg, 0);
    CHECK_EQ(aio_write(&w), 0);
    wait_done(&w);
    if (aio_error(&w) != EPIPE)
        die("%s: aio_error %d, expected EPIPE", what, aio_error(&w));
    CHECK_EQ(aio_return(&w), -1);
    if (stream_sigpipes)
        die("%s: SIGPIPE was delivered to the program's thread", what);
    sigset_t pend;
    SYS(sigpending(&pend));
    if (sigismember(&pend, SIGPIPE))
        die("%s: a SIGPIPE was left pending", what);
}

#endif
