/* DESCRIPTION: 200 aio_writes to an O_APPEND file, submitted without waiting, land in submission order */
#include "support/common.h"

#define N 200
#define REC 100

int main(void)
{
    int fd = tmp_open(O_APPEND);
    if (fd < 0)
        die("open O_APPEND");
    static struct aiocb cbs[N];
    static char recs[N][REC];
    for (int i = 0; i < N; i++) {
        memset(recs[i], 'a' + i % 26, REC);
        snprintf(recs[i], REC, "record %03d ", i);
        /* aio_offset is ignored for O_APPEND: give misleading values */
        cb_init(&cbs[i], fd, recs[i], REC, (N - i) * 7);
        if (aio_write(&cbs[i]) != 0)
            die("aio_write #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    struct stat st;
    SYS(fstat(fd, &st));
    CHECK_EQ(st.st_size, N * REC);
    static char back[N][REC];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    for (int i = 0; i < N; i++)
        if (memcmp(back[i], recs[i], REC) != 0)
            die("record at position %d is \"%.10s\", expected \"%.10s\"", i,
                back[i], recs[i]);
    return 0;
}
