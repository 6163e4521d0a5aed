/* DESCRIPTION: lio_listio with a mode other than LIO_WAIT/LIO_NOWAIT fails with -1/EINVAL and submits nothing */
#include "support/common.h"

int main(void)
{
    int fd = tmp_pattern_file(4096, 15);
    char buf[64] = { 0 };
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_lio_opcode = LIO_READ;
    struct aiocb *list[1] = { &cb };
    CHECK_ERR(lio_listio(2, list, 1, NULL), EINVAL);
    CHECK_ERR(lio_listio(-1, list, 1, NULL), EINVAL);
    CHECK_ERR(lio_listio(99, list, 1, NULL), EINVAL);
    /* nothing was read into the buffer */
    for (int i = 0; i < (int)sizeof buf; i++)
        CHECK_EQ(buf[i], 0);
    CHECK_EQ(lio_listio(LIO_WAIT, list, 1, NULL), 0);
    CHECK_DONE_OK(&cb, sizeof buf);
    CHECK_PAT(buf, sizeof buf, 0, 15);
    return 0;
}
