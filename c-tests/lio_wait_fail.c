/* DESCRIPTION: lio_listio(LIO_WAIT) with one bad-fd entry fails with EIO; that entry shows EBADF, the others succeed */
#include "support/common.h"

#define N 8
#define SZ 512

int main(void)
{
    int fd = tmp_pattern_file(N * SZ, 14);
    int closed = closed_fd();
    static struct aiocb cbs[N];
    static char bufs[N][SZ];
    struct aiocb *list[N];
    const int badi = 5;
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], i == badi ? closed : fd, bufs[i], SZ, (off_t)i * SZ);
        cbs[i].aio_lio_opcode = LIO_READ;
        list[i] = &cbs[i];
    }
    CHECK_ERR(lio_listio(LIO_WAIT, list, N, NULL), EIO);
    check_reads_one_ebadf(cbs, &bufs[0][0], N, SZ, badi, 14);
    return 0;
}
