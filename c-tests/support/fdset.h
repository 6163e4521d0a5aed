/* The fork tests' check that a child starts with exactly the program's descriptors: the set of
 * open numbers taken before the first AIO call, compared in each child, every difference
 * reported with what an unexpected descriptor is. */
#ifndef AIO_RS_TEST_FDSET_H
#define AIO_RS_TEST_FDSET_H
#include "common.h"

/* The numbers looked at: the library's own are above 256, and these tests open few. */
#define FDSET_MAX 1024

/* set[fd] = 1 for each open descriptor below FDSET_MAX. */
CT_FN void fdset_read(char set[FDSET_MAX])
{
    for (int fd = 0; fd < FDSET_MAX; fd++)
        set[fd] = fcntl(fd, F_GETFD) != -1;
}

/* Says what an open descriptor is (its target and its fdinfo), for a failure's report. */
CT_FN void fdset_describe(int fd)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    fprintf(stderr, "  fd %d -> %s\n", fd, n < 0 ? "?" : buf);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int info = open(path, O_RDONLY | O_CLOEXEC);
    if (info < 0)
        return;
    n = read(info, buf, sizeof buf - 1);
    close(info);
    buf[n < 0 ? 0 : n] = 0;
    fprintf(stderr, "%s", buf);
}

/* In fork child number `child`: exits 0 if its descriptors are exactly `before`, else reports
 * every difference and exits 1. */
CT_FN void fdset_child_exit(const char before[FDSET_MAX], int child)
{
    static char after[FDSET_MAX];
    fdset_read(after);
    int bad = 0;
    for (int i = 0; i < FDSET_MAX; i++)
        if (before[i] != after[i]) {
            fprintf(stderr, "FAIL child %d: descriptor %d is %s, it was %s before the first AIO call\n",
                    child, i, after[i] ? "open" : "closed", before[i] ? "open" : "closed");
            if (after[i])
                fdset_describe(i);
            bad = 1;
        }
    _exit(bad);
}
#endif
