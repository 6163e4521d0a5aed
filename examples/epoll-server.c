/*
 * epoll-server: a small file server on the loopback interface that reads its files with
 * aio_readv and answers over TCP, everything driven by one epoll_wait loop and no thread of its
 * own. Disk completions arrive in the same loop as socket readiness: the requests go to an aio-rs
 * completion queue (sigev_notify = AIO_RS_SIGEV_QUEUE), whose descriptor sits in the epoll set
 * beside the sockets.
 *
 *   epoll-server [-c COUNT] FILE...
 *
 * It listens on 127.0.0.1 on a port the kernel picks and prints "port N" on its first line of
 * output. A client sends lines "R INDEX OFFSET LENGTH\n" (FILE number INDEX, counted from 0;
 * LENGTH at most 256 KiB); for each, the server answers "OK N\n" followed by the N bytes of that
 * file at OFFSET (N < LENGTH only at the end of the file), or "ERR\n". Requests on one connection
 * are answered in order. With -c, the server exits after answering COUNT requests.
 *
 * Build: cc -O2 -Iinclude epoll-server.c -o epoll-server -Ltarget/release -laio_rs
 */
#define _GNU_SOURCE
#include <aio_rs.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK (64 * 1024)           /* the read is scattered over chunks of this size */
#define NCHUNK 4                    /* so a request reads at most 256 KiB */
#define MAX_LEN (CHUNK * NCHUNK)
#define INBUF 4096

enum state { IDLE, READING_FILE, SENDING };

struct conn {
    int fd;
    enum state state;
    char in[INBUF];                 /* request bytes received and not yet handled */
    size_t inlen;
    struct aiocb cb;                /* the file read: aio_readv into chunk[] */
    struct iovec iov[NCHUNK + 1];   /* [0] the header, then the chunks */
    char *chunk[NCHUNK];
    char head[32];
    int niov;                       /* entries of iov still to send, from iov + first */
    int first;
    int events;                     /* what the socket is watched for */
    int closed;                     /* the socket is closed; freed once its read is done */
    struct conn *next_dead;
};

static int ep, q;
static int *files, nfiles;
static long served, limit = -1;
/* Connections to free once the current batch of events is handled (an event later in the
 * batch may still name them). */
static struct conn *dead;

static void die(const char *what)
{
    fprintf(stderr, "epoll-server: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Watches the socket for `events`: EPOLLIN while waiting for a request, EPOLLOUT while an
 * answer waits for room, nothing (but a hang-up) while the file is being read. */
static void watch(struct conn *c, unsigned events)
{
    if ((unsigned)c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->events = (int)events;
}

/* The client is gone: close the socket now; free the connection once nothing uses it (a file
 * read in progress still writes into its chunks: it is cancelled, or completes, first). */
static void drop(struct conn *c)
{
    if (!c->closed) {
        c->closed = 1;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->state == READING_FILE) {
        aio_cancel(c->cb.aio_fildes, &c->cb);
        return;
    }
    c->next_dead = dead;
    dead = c;
}

static void bury(void)
{
    while (dead) {
        struct conn *c = dead;
        dead = c->next_dead;
        for (int i = 0; i < NCHUNK; i++)
            free(c->chunk[i]);
        free(c);
    }
}

/* Sends what is left of the answer; false if the connection is gone. */
static int send_more(struct conn *c)
{
    while (c->niov > 0) {
        ssize_t n = writev(c->fd, c->iov + c->first, c->niov);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                watch(c, EPOLLOUT);
                return 1;
            }
            return 0;
        }
        /* Skip what was sent: whole entries, then part of one. */
        while (n > 0 && c->niov > 0) {
            struct iovec *v = &c->iov[c->first];
            if ((size_t)n >= v->iov_len) {
                n -= (ssize_t)v->iov_len;
                c->first++;
                c->niov--;
            } else {
                v->iov_base = (char *)v->iov_base + n;
                v->iov_len -= (size_t)n;
                n = 0;
            }
        }
    }
    c->state = IDLE;
    served++;
    watch(c, EPOLLIN);
    return 1;
}

static void answer_error(struct conn *c)
{
    memcpy(c->head, "ERR\n", 4);
    c->iov[0].iov_base = c->head;
    c->iov[0].iov_len = 4;
    c->first = 0;
    c->niov = 1;
    c->state = SENDING;
}

/* Handles the next complete request line, if there is one; false if the connection is gone. */
static int next_request(struct conn *c)
{
    char *nl = memchr(c->in, '\n', c->inlen);
    if (!nl)
        return c->inlen < INBUF;
    *nl = 0;
    int idx;
    long long off, len;
    int ok = sscanf(c->in, "R %d %lld %lld", &idx, &off, &len) == 3 && idx >= 0 && idx < nfiles && off >= 0 &&
             len > 0 && len <= MAX_LEN;
    size_t used = (size_t)(nl + 1 - c->in);
    memmove(c->in, nl + 1, c->inlen - used);
    c->inlen -= used;
    if (!ok) {
        answer_error(c);
        return send_more(c);
    }
    /* Scatter the file's bytes over the chunks: one aio_readv, completion to the queue. */
    int n = 0;
    for (long long left = len; left > 0; left -= CHUNK, n++) {
        c->iov[1 + n].iov_base = c->chunk[n];
        c->iov[1 + n].iov_len = (size_t)(left < CHUNK ? left : CHUNK);
    }
    memset(&c->cb, 0, sizeof c->cb);
    c->cb.aio_fildes = files[idx];
    c->cb.aio_offset = off;
    AIO_RS_SET_IOV(&c->cb, &c->iov[1], n);
    c->cb.aio_sigevent.sigev_notify = AIO_RS_SIGEV_QUEUE;
    c->cb.aio_sigevent.sigev_signo = q;
    c->cb.aio_sigevent.sigev_value.sival_ptr = c;
    if (aio_readv(&c->cb) != 0) {
        answer_error(c);
        return send_more(c);
    }
    c->state = READING_FILE;
    watch(c, 0);
    return 1;
}

/* A file read finished: send its bytes. */
static void read_done(struct conn *c)
{
    int err = aio_error(&c->cb);
    ssize_t n = aio_return(&c->cb);
    if (c->closed) {
        /* The client left meanwhile. */
        c->state = IDLE;
        drop(c);
        return;
    }
    if (err != 0) {
        answer_error(c);
    } else {
        int k = 0;
        for (size_t left = (size_t)n; left > 0; k++) {
            size_t part = left < CHUNK ? left : CHUNK;
            c->iov[1 + k].iov_len = part;
            left -= part;
        }
        c->iov[0].iov_base = c->head;
        c->iov[0].iov_len = (size_t)snprintf(c->head, sizeof c->head, "OK %zd\n", n);
        c->first = 0;
        c->niov = 1 + k;
        c->state = SENDING;
    }
    if (!send_more(c) || (c->state == IDLE && !next_request(c)))
        drop(c);
}

static void readable(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            drop(c);
            return;
        }
        c->inlen += (size_t)n;
        if (c->inlen == INBUF)
            break;
    }
    if (c->state == IDLE && !next_request(c))
        drop(c);
}

static void accept_all(int ls)
{
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            die("accept4");
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c)
            die("calloc");
        c->fd = fd;
        for (int i = 0; i < NCHUNK; i++)
            if (!(c->chunk[i] = malloc(CHUNK)))
                die("malloc");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        c->events = EPOLLIN;
    }
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "c:")) != -1) {
        if (opt == 'c')
            limit = strtol(optarg, NULL, 0);
        else {
            fprintf(stderr, "usage: epoll-server [-c COUNT] FILE...\n");
            return 1;
        }
    }
    nfiles = argc - optind;
    if (nfiles < 1) {
        fprintf(stderr, "usage: epoll-server [-c COUNT] FILE...\n");
        return 1;
    }
    files = calloc((size_t)nfiles, sizeof *files);
    for (int i = 0; i < nfiles; i++)
        if ((files[i] = open(argv[optind + i], O_RDONLY | O_CLOEXEC)) < 0)
            die(argv[optind + i]);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    ep = epoll_create1(EPOLL_CLOEXEC);
    q = aio_rs_cq_create(0);
    if (ep < 0 || q < 0)
        die("epoll_create1/aio_rs_cq_create");
    /* The listening socket and the completion queue: data.ptr NULL and &q tell them apart. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
        die("epoll_ctl");
    ev.data.ptr = &q;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev) < 0)
        die("epoll_ctl");

    struct epoll_event evs[64];
    while (limit < 0 || served < limit) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == NULL) {
                accept_all(ls);
            } else if (p == &q) {
                /* Completed file reads: take them all, without waiting. */
                struct aiocb *done[64];
                struct timespec zero = {0, 0};
                int k;
                while ((k = aio_rs_cq_harvest(q, done, 64, &zero)) > 0)
                    for (int j = 0; j < k; j++)
                        read_done(done[j]->aio_sigevent.sigev_value.sival_ptr);
                if (k < 0)
                    die("aio_rs_cq_harvest");
            } else {
                struct conn *c = p;
                if (c->closed)
                    continue;
                if (evs[i].events & (EPOLLERR | EPOLLHUP) && c->state != SENDING) {
                    drop(c);
                } else if (c->state == SENDING) {
                    if (!send_more(c) || (c->state == IDLE && !next_request(c)))
                        drop(c);
                } else {
                    readable(c);
                }
            }
        }
        bury();
    }
    aio_rs_cq_close(q);
    return 0;
}
