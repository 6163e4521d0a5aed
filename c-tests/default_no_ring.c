/* DESCRIPTION: unless AIO_RS_BACKEND=uring asks for io_uring, requests of every kind (page-cached and O_DIRECT reads, buffered and O_DIRECT writes, fsync, pipe and socket reads and writes) complete and the process never holds an io_uring ring */
#include "support/stream.h"
#include <dirent.h>

#define BLK 4096

/* Descriptors of this process that are io_uring instances. */
static int uring_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("opendir /proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        if (strstr(target, "io_uring"))
            n++;
    }
    closedir(d);
    return n;
}

static void one(struct aiocb *cb, int write, ssize_t expect)
{
    CHECK_EQ(write ? aio_write(cb) : aio_read(cb), 0);
    wait_done(cb);
    CHECK_DONE_OK(cb, expect);
}

int main(void)
{
    const char *backend = getenv("AIO_RS_BACKEND");
    if (backend && strcmp(backend, "uring") == 0)
        skip("AIO_RS_BACKEND=uring asks for io_uring");
    char buf[BLK];

    /* A buffered file: write, read back (page-cached), fsync. */
    int fd = tmp_open(0);
    struct aiocb cb;
    pat_fill(buf, BLK, 0, 5);
    cb_init(&cb, fd, buf, BLK, 0);
    one(&cb, 1, BLK);
    memset(buf, 0, BLK);
    cb_init(&cb, fd, buf, BLK, 0);
    one(&cb, 0, BLK);
    CHECK_PAT(buf, BLK, 0, 5);
    cb_init(&cb, fd, NULL, 0, 0);
    CHECK_EQ(aio_fsync(O_SYNC, &cb), 0);
    wait_done(&cb);
    CHECK_EQ(aio_error(&cb), 0);

    /* O_DIRECT, where the file system allows it. */
    int dfd = tmp_open(O_DIRECT);
    if (dfd >= 0) {
        char *dbuf;
        CHECK_EQ(posix_memalign((void **)&dbuf, BLK, BLK), 0);
        pat_fill(dbuf, BLK, 0, 9);
        CHECK_EQ(ftruncate(dfd, BLK), 0);
        cb_init(&cb, dfd, dbuf, BLK, 0);
        one(&cb, 1, BLK);
        memset(dbuf, 0, BLK);
        cb_init(&cb, dfd, dbuf, BLK, 0);
        one(&cb, 0, BLK);
        CHECK_PAT(dbuf, BLK, 0, 9);
        free(dbuf);
        close(dfd);
    }

    /* A pipe and a socket: a read that must wait, then the write that completes it. */
    int p[2], s[2];
    make_pipe(p);
    make_socketpair(s);
    int streams[2][2] = {{p[0], p[1]}, {s[0], s[1]}};
    for (int i = 0; i < 2; i++) {
        char in[4], out[4] = "ring";
        struct aiocb r, w;
        cb_init(&r, streams[i][0], in, sizeof in, 0);
        CHECK_EQ(aio_read(&r), 0);
        cb_init(&w, streams[i][1], out, sizeof out, 0);
        one(&w, 1, 4);
        wait_done(&r);
        CHECK_DONE_OK(&r, 4);
        CHECK(memcmp(in, "ring", 4) == 0);
    }

    int n = uring_fds();
    printf("io_uring descriptors: %d\n", n);
    if (n != 0)
        die("the process holds %d io_uring descriptor(s) though AIO_RS_BACKEND is %s", n,
            backend ? backend : "unset");
    return 0;
}
