/* DESCRIPTION: aio_fsync on an aiocb still holding an earlier write's buffer, length and offset completes and wakes its waiter (O_DIRECT, writes in flight) */
#define TEST_ALARM 30
#include "support/common.h"

#define DEPTH 8
#define ROUNDS 200

int main(void)
{
    int fd = tmp_open_direct();
    char *bufs;
    if (posix_memalign((void **)&bufs, 4096, DEPTH * 4096))
        die("posix_memalign");
    memset(bufs, 0x5a, DEPTH * 4096);
    static struct aiocb cbs[DEPTH];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < DEPTH; i++) {
            cb_init(&cbs[i], fd, bufs + i * 4096, 4096, (off_t)i * 4096);
            SYS(aio_write(&cbs[i]));
        }
        /* Reuse a finished request's aiocb for the fsync without clearing it: POSIX says
         * aio_fsync looks only at aio_fildes and aio_sigevent. Odd values on purpose. */
        wait_done(&cbs[0]);
        CHECK_DONE_OK(&cbs[0], 4096);
        struct aiocb *f = &cbs[0];
        f->aio_buf = bufs + 1;
        f->aio_nbytes = 333;
        f->aio_offset = 17;
        f->aio_lio_opcode = 77;
        SYS(aio_fsync(r % 2 ? O_SYNC : O_DSYNC, f));
        wait_done(f);
        CHECK_EQ(aio_error(f), 0);
        CHECK_EQ(aio_return(f), 0);
        for (int i = 1; i < DEPTH; i++) {
            wait_done(&cbs[i]);
            CHECK_DONE_OK(&cbs[i], 4096);
        }
    }
    return 0;
}
