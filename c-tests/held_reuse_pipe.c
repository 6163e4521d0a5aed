/* DESCRIPTION: in a busy stream of buffered writes on one file, the program closes the number and puts a pipe at it: every write submitted before lands in the file, nothing of them goes into the pipe, and the writes submitted after it complete once (ESPIPE, or written into the pipe whole) */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so writes still queued when the number is closed and reused go to the pipe (pwrite answers ESPIPE) instead of the file they were submitted for */
#include "support/fdtest.h"

#define WS_STREAMS 1
#include "support/wstream.h"

#define LATE 8
#define LATE_LEN 16

int main(void)
{
    int num = tmp_open(0);
    int a = SYS(dup(num)); /* the test's own view of the file */
    int p[2];
    make_pipe(p); /* before the close: its read end must not take the number */
    stream(0, num, 7);
    /* writes in flight on `num`: it now names the pipe's write end */
    SYS(close(num));
    move_fd(p[1], num);

    /* writes submitted on the pipe now: each ends once, ESPIPE (a write at an
     * offset on a pipe) or written whole into the pipe */
    static char late[LATE][LATE_LEN];
    static struct aiocb lcbs[LATE];
    for (int i = 0; i < LATE; i++) {
        memset(late[i], 'a' + i, LATE_LEN);
        cb_init(&lcbs[i], num, late[i], LATE_LEN, 0);
        CHECK_EQ(aio_write(&lcbs[i]), 0);
    }
    wait_stream(0);
    size_t into_pipe = 0;
    for (int i = 0; i < LATE; i++) {
        wait_done(&lcbs[i]);
        int e = aio_error(&lcbs[i]);
        ssize_t r = aio_return(&lcbs[i]);
        if (e == 0 && r == LATE_LEN)
            into_pipe += LATE_LEN;
        else if (e != ESPIPE || r != -1)
            die("late write %d: error %d, return %zd (want ESPIPE or %d bytes)", i, e, r, LATE_LEN);
    }

    /* the pipe holds nothing but whole late writes: no block of the stream */
    static char back[LATE * LATE_LEN + BLK];
    size_t got = read_available(p[0], back, sizeof back);
    if (got != into_pipe)
        die("the pipe holds %zu bytes, the late writes that succeeded %zu", got, into_pipe);
    for (size_t off = 0; off < got; off += LATE_LEN) {
        char c = back[off];
        if (c < 'a' || c >= 'a' + LATE)
            die("byte %zu of the pipe (%d) is no late write's", off, c);
        for (size_t k = 1; k < LATE_LEN; k++)
            if (back[off + k] != c)
                die("the pipe holds a late write torn at byte %zu", off + k);
    }
    check_file(a, 7, "A");
    return 0;
}
