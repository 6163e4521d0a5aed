/* DESCRIPTION: aio_init with a struct aioinit is accepted and AIO works afterwards */
#include "support/common.h"

int main(void)
{
    struct aioinit init;
    memset(&init, 0, sizeof init);
    init.aio_threads = 4;
    init.aio_num = 64;
    init.aio_idle_time = 2;
    aio_init(&init);
    /* calling it again is harmless too */
    init.aio_threads = 1;
    aio_init(&init);

    int fd = tmp_pattern_file(1 << 16, 29);
    static struct aiocb cbs[16];
    static char bufs[16][4096];
    for (int i = 0; i < 16; i++) {
        cb_init(&cbs[i], fd, bufs[i], 4096, (off_t)i * 4096);
        CHECK_EQ(aio_read(&cbs[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], 4096);
        CHECK_PAT(bufs[i], 4096, (long long)i * 4096, 29);
    }
    return 0;
}
