/* DESCRIPTION: lio_listio(LIO_WAIT) with 64 reads mixed with NULL and LIO_NOP entries returns 0 with all reads done */
#include "support/common.h"

#define N 64
#define SZ 1000

int main(void)
{
    int fd = tmp_pattern_file(N * SZ, 12);
    static struct aiocb cbs[N], nops[N];
    static char bufs[N][SZ];
    struct aiocb *list[3 * N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, bufs[i], SZ, (off_t)(N - 1 - i) * SZ);
        cbs[i].aio_lio_opcode = LIO_READ;
        list[n++] = &cbs[i];
        if (i % 3 == 0)
            list[n++] = NULL;
        if (i % 4 == 1) {
            /* a NOP whose other fields would be an invalid request */
            cb_init(&nops[i], -1, NULL, 1 << 30, -5);
            nops[i].aio_lio_opcode = LIO_NOP;
            list[n++] = &nops[i];
        }
    }
    list[n++] = NULL;
    CHECK_EQ(lio_listio(LIO_WAIT, list, n, NULL), 0);
    for (int i = 0; i < N; i++) {
        /* LIO_WAIT returned: every read is already complete */
        CHECK_EQ(aio_error(&cbs[i]), 0);
        CHECK_EQ(aio_return(&cbs[i]), SZ);
        CHECK_PAT(bufs[i], SZ, (long long)(N - 1 - i) * SZ, 12);
    }
    return 0;
}
