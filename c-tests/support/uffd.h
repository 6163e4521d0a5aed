/*
 * A buffer whose pages are not there yet: a write(2) from it blocks, inside
 * whichever thread runs it (a kernel io_uring worker, an AIO worker thread),
 * until the test supplies the page.  This makes "request R is still running"
 * a fact the test controls, with no sleeps: the test reads the page-fault
 * message from the userfaultfd, which proves the write has started and is
 * blocked, and later resolves the fault with UFFDIO_COPY.
 *
 * Needs userfaultfd with kernel-mode faults (root, or vm.unprivileged_userfaultfd=1);
 * the test is skipped otherwise.  Use buffered files only: an O_DIRECT write from such a
 * buffer would fault inside io_submit, on the submitting thread.  Use it for writes only:
 * io_uring copies a read's data to the buffer on the submitting thread, which would then
 * block in aio_read.
 *
 * The blocked write holds its file's inode lock (every Linux file system takes it for a
 * buffered write, and faults the source in under it), so another write to the same file
 * waits in the kernel behind it (io_uring also runs buffered writes to one file one after
 * another), whatever the library does.  Reads and fsync(2) of that file do not wait.
 * So "a later request still runs" is shown with a read.
 */
#ifndef AIO_CTEST_UFFD_H
#define AIO_CTEST_UFFD_H

#include "common.h"

#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct uffd_buf {
    int uffd;
    char *base;
    size_t pages;
};

#define UFFD_PAGE 4096

/* Maps `pages` pages registered for missing-page faults. */
CT_FN struct uffd_buf uffd_buf_new(size_t pages)
{
    struct uffd_buf b = { -1, NULL, pages };
    b.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (b.uffd < 0)
        skip("userfaultfd unavailable (errno %d)", errno);
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    if (ioctl(b.uffd, UFFDIO_API, &api) != 0)
        skip("UFFDIO_API failed (errno %d)", errno);
    b.base = mmap(NULL, pages * UFFD_PAGE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b.base == MAP_FAILED)
        die("mmap");
    struct uffdio_register reg = {
        .range = { .start = (unsigned long)b.base, .len = pages * UFFD_PAGE },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(b.uffd, UFFDIO_REGISTER, &reg) != 0)
        skip("UFFDIO_REGISTER failed (errno %d)", errno);
    return b;
}

CT_FN char *uffd_page(const struct uffd_buf *b, size_t i) { return b->base + i * UFFD_PAGE; }

/* Waits (bounded) until some thread faults on one of the pages, and returns the page's
 * index: proof that a transfer from (or to) that page has started and is now blocked. */
CT_FN size_t uffd_wait_fault(const struct uffd_buf *b, long ms)
{
    struct pollfd p = { .fd = b->uffd, .events = POLLIN };
    long long deadline = now_ms() + ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            die("no page fault on the userfaultfd buffer within %ld ms", ms);
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll(userfaultfd)");
        if (r == 0)
            continue;
        struct uffd_msg msg;
        ssize_t n = read(b->uffd, &msg, sizeof msg);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n != (ssize_t)sizeof msg)
            die("read(userfaultfd) returned %zd", n);
        if (msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        unsigned long addr = (unsigned long)msg.arg.pagefault.address;
        unsigned long start = (unsigned long)b->base;
        if (addr < start || addr >= start + b->pages * UFFD_PAGE)
            die("fault outside the buffer");
        return (addr - start) / UFFD_PAGE;
    }
}

/* Supplies page i with the contents of src (UFFD_PAGE bytes), waking whoever waits on it. */
CT_FN void uffd_fill(const struct uffd_buf *b, size_t i, const void *src)
{
    struct uffdio_copy c = {
        .dst = (unsigned long)uffd_page(b, i),
        .src = (unsigned long)src,
        .len = UFFD_PAGE,
        .mode = 0,
    };
    if (ioctl(b->uffd, UFFDIO_COPY, &c) != 0 && errno != EEXIST)
        die("UFFDIO_COPY");
}

#endif
