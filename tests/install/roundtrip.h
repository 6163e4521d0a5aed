/*
 * A small POSIX AIO round trip shared by the install-test programs: aio_write, aio_fsync and
 * aio_read on a temporary file, each awaited with aio_suspend under a deadline, the data checked
 * with pread. Uses only <aio.h>, so it runs against glibc and against aio-rs alike.
 */
#ifndef AIO_RS_TEST_ROUNDTRIP_H
#define AIO_RS_TEST_ROUNDTRIP_H

#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RT_LEN 16384
#define RT_OFFSET 4096
#define RT_DEADLINE_SECONDS 20

/* Not every program uses every helper. */
#define RT_HELPER static __attribute__((unused))

RT_HELPER double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits (bounded) for one request; returns its aio_error value, or ETIMEDOUT. */
RT_HELPER int rt_wait(struct aiocb *cb)
{
    const struct aiocb *list[1] = { cb };
    double deadline = rt_now() + RT_DEADLINE_SECONDS;
    for (;;) {
        int err = aio_error(cb);
        if (err != EINPROGRESS)
            return err;
        if (rt_now() > deadline) {
            fprintf(stderr, "roundtrip: request still in progress after %d s\n",
                    RT_DEADLINE_SECONDS);
            return ETIMEDOUT;
        }
        struct timespec timeout = { 1, 0 };
        if (aio_suspend(list, 1, &timeout) == -1 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "roundtrip: aio_suspend: %s\n", strerror(errno));
            return errno;
        }
    }
}

/* Returns 0 when every step worked, else 1 (with a message on stderr). */
RT_HELPER int rt_run(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-rs-roundtrip.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd == -1) {
        fprintf(stderr, "roundtrip: mkstemp %s: %s\n", path, strerror(errno));
        return 1;
    }
    unlink(path);

    static unsigned char out[RT_LEN], in[RT_LEN], check[RT_LEN];
    for (size_t i = 0; i < RT_LEN; i++)
        out[i] = (unsigned char)(i * 7 + 3);

    int status = 1;
    struct aiocb cb;
    ssize_t n;

    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_buf = out;
    cb.aio_nbytes = RT_LEN;
    cb.aio_offset = RT_OFFSET;
    cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    if (aio_write(&cb) == -1) {
        fprintf(stderr, "roundtrip: aio_write: %s\n", strerror(errno));
        goto out;
    }
    if (rt_wait(&cb) != 0 || (n = aio_return(&cb)) != RT_LEN) {
        fprintf(stderr, "roundtrip: aio_write did not write %d bytes\n", RT_LEN);
        goto out;
    }

    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    if (aio_fsync(O_SYNC, &cb) == -1) {
        fprintf(stderr, "roundtrip: aio_fsync: %s\n", strerror(errno));
        goto out;
    }
    if (rt_wait(&cb) != 0 || aio_return(&cb) != 0) {
        fprintf(stderr, "roundtrip: aio_fsync failed\n");
        goto out;
    }

    if (pread(fd, check, RT_LEN, RT_OFFSET) != RT_LEN || memcmp(check, out, RT_LEN) != 0) {
        fprintf(stderr, "roundtrip: the file does not hold what aio_write wrote\n");
        goto out;
    }

    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_buf = in;
    cb.aio_nbytes = RT_LEN;
    cb.aio_offset = RT_OFFSET;
    cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    if (aio_read(&cb) == -1) {
        fprintf(stderr, "roundtrip: aio_read: %s\n", strerror(errno));
        goto out;
    }
    int err = rt_wait(&cb);
    if (err != 0) {
        fprintf(stderr, "roundtrip: aio_read failed: %s\n", strerror(err));
        goto out;
    }
    if ((n = aio_return(&cb)) != RT_LEN) {
        fprintf(stderr, "roundtrip: aio_read returned %zd, expected %d\n", n, RT_LEN);
        goto out;
    }
    if (memcmp(in, out, RT_LEN) != 0) {
        fprintf(stderr, "roundtrip: aio_read returned other data than was written\n");
        goto out;
    }
    status = 0;
out:
    close(fd);
    return status;
}

/* The file name of the object that holds the code at `fn`, or "?" */
RT_HELPER const char *rt_object_of(void (*fn)(void))
{
    Dl_info info;
    void *addr;
    memcpy(&addr, &fn, sizeof addr);
    if (addr == NULL || dladdr(addr, &info) == 0 || info.dli_fname == NULL)
        return "?";
    return info.dli_fname;
}

/* Base address of the object that holds the code at `fn`, or NULL. */
RT_HELPER void *rt_base_of(void (*fn)(void))
{
    Dl_info info;
    void *addr;
    memcpy(&addr, &fn, sizeof addr);
    if (addr == NULL || dladdr(addr, &info) == 0)
        return NULL;
    return info.dli_fbase;
}

/* The definition of `name` that the dynamic linker binds calls to, as a function pointer. */
RT_HELPER void (*rt_lookup(const char *name))(void)
{
    void *sym = dlsym(RTLD_DEFAULT, name);
    void (*fn)(void);
    memcpy(&fn, &sym, sizeof fn);
    return fn;
}

#endif
