/* DESCRIPTION: before the first AIO call the process has one thread and no io_uring or eventfd descriptor; the first call works */
#include "support/common.h"
#include <dirent.h>

/* Counts this process's descriptors whose link target contains `what`. */
static int count_fds(const char *what)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("opendir /proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0) {
            target[len] = 0;
            n += strstr(target, what) != NULL;
        }
    }
    closedir(d);
    return n;
}

int main(void)
{
    /* Nothing AIO has happened yet (the library, if any, is loaded). */
    CHECK_EQ(thread_count(), 1);
    CHECK_EQ(count_fds("io_uring"), 0);
    CHECK_EQ(count_fds("eventfd"), 0);
    int fd = tmp_pattern_file(4096, 3);
    char buf[4096];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 4096);
    CHECK_PAT(buf, 4096, 0, 3);
    return 0;
}
