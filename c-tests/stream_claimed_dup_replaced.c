/* DESCRIPTION: a pipe read that its thread then waits for alone in aio_suspend, whose library duplicate of the pipe (a number above the program's) the program replaces with a regular file by dup2 right after aio_read, never reads that file (nor moves its offset): it reads the pipe or ends ECANCELED with the byte left in the pipe, repeatedly, the first rounds after reads that waited the same way */
#include "support/fdtest.h"
#include "support/stream.h"

#include <dirent.h>
#include <sys/stat.h>

#define ROUNDS 20
#define LOW 64 /* the program's descriptors stay below; the library's sit above */

/* dup2s `f` over every number at or above LOW that names the pipe of inode `ino`
 * (the library's duplicate, if it made one); how many it replaced. */
static int replace_dups(int f, ino_t ino)
{
    int nums[64], n = 0;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 64) {
        int fd = atoi(de->d_name);
        struct stat st;
        if (fd >= LOW && fd != dirfd(d) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_ino == ino)
            nums[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        SYS(dup2(f, nums[i]));
    return n;
}

int main(void)
{
    int f = tmp_open(0);
    write_all(f, "FFFFFFFF", 8);
    SYS(lseek(f, 0, SEEK_SET));
    CHECK(f < LOW);
    int replaced = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        make_pipe(p);
        CHECK(p[0] < LOW && p[1] < LOW);
        struct stat st;
        SYS(fstat(p[0], &st));
        char buf[8] = { 0 };
        struct aiocb cb;
        const struct aiocb *list[1] = { &cb };
        /* A few reads that wait, each waited for alone: the library's waiter claims them. */
        for (int i = 0; i < 3; i++) {
            read_fed_byte(p[0], p[1], buf, 'y');
        }
        buf[0] = 0;
        cb_init(&cb, p[0], buf, sizeof buf, 0);
        CHECK_EQ(aio_read(&cb), 0);
        /* At once, before the wait: the library's duplicate becomes the regular file. */
        replaced += replace_dups(f, st.st_ino);
        struct timespec ts = ms_ts(100);
        if (aio_error(&cb) == EINPROGRESS && aio_suspend(list, 1, &ts) != 0)
            CHECK(errno == EAGAIN || errno == EINTR);
        /* Read by a request still pending; left in the pipe by one that ended. */
        write_all(p[1], "x", 1);
        wait_done(&cb);
        CHECK(buf[0] != 'F');
        check_x_read_or_left(&cb, buf, p[0]);
        /* The file's offset was never moved by a read through the replaced number. */
        CHECK_EQ(lseek(f, 0, SEEK_CUR), 0);
        close(p[0]);
        close(p[1]);
    }
    /* Only aio-rs duplicates; under glibc nothing is replaced (and nothing needs to be). */
    (void)replaced;
    return 0;
}
