/* DESCRIPTION: a pipe write submitted while an earlier write to the same pipe waits for room never overtakes it */
#include "support/common.h"

#define CHUNK 100

int main(void)
{
    int p[2];
    make_pipe(p);
    /* Fill the pipe to the brim without blocking (O_NONBLOCK only while
     * filling: the requests run on a blocking descriptor). */
    int fl = fcntl(p[1], F_GETFL);
    SYS(fcntl(p[1], F_SETFL, fl | O_NONBLOCK));
    static char fill[65536];
    memset(fill, 'F', sizeof fill);
    size_t filled = 0;
    for (;;) {
        ssize_t n = write(p[1], fill, sizeof fill);
        if (n < 0) {
            CHECK_EQ(errno, EAGAIN);
            break;
        }
        filled += (size_t)n;
    }
    SYS(fcntl(p[1], F_SETFL, fl));

    char a[CHUNK], b[CHUNK];
    memset(a, 'A', sizeof a);
    memset(b, 'B', sizeof b);
    struct aiocb wa, wb;
    cb_init(&wa, p[1], a, sizeof a, 0);
    cb_init(&wb, p[1], b, sizeof b, 0);
    CHECK_EQ(aio_write(&wa), 0);
    CHECK_EQ(aio_error(&wa), EINPROGRESS);
    CHECK_EQ(aio_write(&wb), 0);

    /* Drain the fill, then the two chunks must follow in submission order. */
    char *got = malloc(filled + 2 * CHUNK);
    if (!got)
        skip("out of memory");
    read_all(p[0], got, filled + 2 * CHUNK);
    for (size_t i = 0; i < filled; i++)
        if (got[i] != 'F')
            die("byte %zu of the fill is '%c'", i, got[i]);
    for (size_t i = 0; i < CHUNK; i++) {
        if (got[filled + i] != 'A')
            die("byte %zu after the fill is '%c', not 'A': the later write overtook the earlier one", i,
                got[filled + i]);
        if (got[filled + CHUNK + i] != 'B')
            die("byte %zu of the second chunk is '%c', not 'B'", i, got[filled + CHUNK + i]);
    }
    wait_done(&wa);
    wait_done(&wb);
    CHECK_DONE_OK(&wa, (ssize_t)CHUNK);
    CHECK_DONE_OK(&wb, (ssize_t)CHUNK);
    free(got);
    return 0;
}
