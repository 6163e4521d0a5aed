/* DESCRIPTION: aio_read/aio_write on a directory descriptor and on an O_PATH descriptor complete with the errno pread/pwrite give (EISDIR, EBADF), never staying in progress */
#include "support/fdtest.h"

int main(void)
{
    int d = SYS(open(tmp_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    expect_like_syscalls(d, "directory", 1);

    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int f = mkstemp(path);
    if (f < 0)
        die("mkstemp");
    char data[64];
    pat_fill(data, sizeof data, 0, 3);
    CHECK_EQ(pwrite(f, data, sizeof data, 0), sizeof data);
    int o = open(path, O_PATH | O_CLOEXEC);
    int oe = errno;
    unlink(path);
    close(f);
    if (o < 0) {
        errno = oe;
        die("open O_PATH");
    }
    expect_like_syscalls(o, "O_PATH file", 1);
    /* the same number later a real file again: still read right */
    int g = tmp_pattern_file(4096, 4);
    SYS(dup2(g, o));
    close(g);
    char buf[64];
    struct rw_outcome r = aio_rw(o, 0, buf, sizeof buf, 128, "file after O_PATH");
    expect_bytes(r, sizeof buf, "file after O_PATH");
    CHECK_PAT(buf, sizeof buf, 128, 4);
    return 0;
}
