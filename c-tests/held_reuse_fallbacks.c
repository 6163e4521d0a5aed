/* DESCRIPTION: with fcntl(F_DUPFD_QUERY) refused (EINVAL, as a kernel before 6.10 answers), and then kcmp denied too (as a container's seccomp profile may), a busy stream of writes whose number is closed and reopened as another file still lands every write in the file its number named when it was submitted; a read-only reopen of the same file is refused writes while a way to tell open files apart is left */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so writes still queued when the number is closed and reused go into the file that took it */
#include "support/fdtest.h"

#define WS_STREAMS 2
#include "support/wstream.h"
#ifndef F_DUPFD_QUERY
#define F_DUPFD_QUERY 1027
#endif

/* fcntl(_, F_DUPFD_QUERY, _) fails with EINVAL in every thread from now on. */
static void refuse_dupfd_query(void)
{
    refuse_syscall_arg_all_threads(SYS_fcntl, 1, F_DUPFD_QUERY, 0, EINVAL);
    int a = SYS(dup(0)), b = SYS(dup(0));
    errno = 0;
    if (fcntl(a, F_DUPFD_QUERY, b) != -1 || errno != EINVAL)
        die("the filter does not refuse F_DUPFD_QUERY");
    close(a);
    close(b);
}

/* A stream on a file at `num`, the number closed and given to another file
 * while it is in flight, a stream on that one; then (with `rdonly`) the
 * second file opened again read-only at the number, whose write must fail. */
static void round_trip(int num, unsigned seed, int rdonly)
{
    int a = SYS(dup(num));
    stream(0, num, seed);
    SYS(close(num));
    char path[4096];
    snprintf(path, sizeof path, "%s/aio-ctest-XXXXXX", tmp_dir());
    int b = SYS(mkstemp(path));
    move_fd(b, num);
    int bview = SYS(dup(num));
    stream(1, num, seed + 1);
    wait_stream(0);
    wait_stream(1);
    check_file(a, seed, "A");
    check_file(bview, seed + 1, "B");
    if (rdonly) {
        SYS(close(num));
        move_fd(SYS(open(path, O_RDONLY)), num);
        static char w[BLK];
        struct aiocb wcb;
        cb_init(&wcb, num, w, sizeof w, 0);
        CHECK_EQ(aio_write(&wcb), 0);
        wait_done(&wcb);
        if (aio_error(&wcb) != EBADF)
            die("a write on the read-only descriptor: error %d (%s); expected EBADF",
                aio_error(&wcb), strerror(aio_error(&wcb)));
        check_file(bview, seed + 1, "B again");
    }
    unlink(path);
    close(a);
    close(bview);
}

int main(void)
{
    int num = tmp_open(0);
    refuse_dupfd_query();
    round_trip(num, 1, 1);
    /* and kcmp too: only file identities are left (which cannot tell the
     * same file opened again read-only from the writable one) */
    deny_syscall_all_threads(SYS_kcmp);
    SYS(close(num));
    move_fd(tmp_open(0), num);
    round_trip(num, 3, 0);
    return 0;
}
