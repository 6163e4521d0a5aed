/* DESCRIPTION: aio_writev records on an O_APPEND file, submitted without waiting, land in submission order */
#include "support/ext.h"

#define N 200
#define REC 700

int main(void)
{
    vec_require();
    int fd = tmp_open(O_APPEND);
    if (fd < 0)
        die("open O_APPEND");
    static struct aiocb cbs[N];
    static char recs[N][REC];
    static struct iovec iov[N][4];
    static const size_t lens[] = {100, 0, 300, 300};
    for (int i = 0; i < N; i++) {
        pat_fill(recs[i], REC, (long long)i * REC, 31);
        iov_split(iov[i], recs[i], lens, 4);
        /* the offset is ignored on an O_APPEND file */
        cb_initv(&cbs[i], fd, iov[i], 4, 0);
        if (x_aio_writev(&cbs[i]) != 0)
            die("aio_writev #%d", i);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    static char back[N * REC];
    CHECK_EQ(pread(fd, back, sizeof back, 0), sizeof back);
    CHECK_PAT(back, sizeof back, 0, 31);
    return 0;
}
