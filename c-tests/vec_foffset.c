/* DESCRIPTION: aio_write2/aio_read2 with AIO_OP2_FOFFSET transfer at the file position, in submission order, and advance it as write(2)/read(2) would; aio_offset is ignored */
#include "support/ext.h"

#define N 40
#define REC 3000

int main(void)
{
    vec_require();
    int fd = tmp_open(0);
    SYS(lseek(fd, 100, SEEK_SET));
    static struct aiocb cbs[N];
    static char recs[N][REC];
    static struct iovec iov[N][2];
    static const size_t lens[] = {1000, 2000};
    for (int i = 0; i < N; i++) {
        pat_fill(recs[i], REC, 100 + (long long)i * REC, 51);
        iov_split(iov[i], recs[i], lens, 2);
        if (i % 2) {
            cb_initv(&cbs[i], fd, iov[i], 2, 999999); /* offset ignored */
            CHECK_EQ(x_aio_write2(&cbs[i], AIO_OP2_FOFFSET | AIO_OP2_VECTORED), 0);
        } else {
            cb_init(&cbs[i], fd, recs[i], REC, -5); /* even a negative offset */
            CHECK_EQ(x_aio_write2(&cbs[i], AIO_OP2_FOFFSET), 0);
        }
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 100 + N * REC);
    static char back[N * REC];
    CHECK_EQ(pread(fd, back, sizeof back, 100), sizeof back);
    CHECK_PAT(back, sizeof back, 100, 51);
    /* reads at the position, in order, each continuing where the last stopped */
    SYS(lseek(fd, 100, SEEK_SET));
    memset(back, 0, sizeof back);
    for (int i = 0; i < N; i++) {
        cb_init(&cbs[i], fd, back + (size_t)i * REC, REC, 0);
        CHECK_EQ(x_aio_read2(&cbs[i], AIO_OP2_FOFFSET), 0);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&cbs[i]);
        CHECK_DONE_OK(&cbs[i], REC);
    }
    CHECK_PAT(back, sizeof back, 100, 51);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 100 + N * REC);
    /* at the end: a read at the position returns 0 */
    char one;
    cb_init(&cbs[0], fd, &one, 1, 0);
    CHECK_EQ(x_aio_read2(&cbs[0], AIO_OP2_FOFFSET), 0);
    wait_done(&cbs[0]);
    CHECK_DONE_OK(&cbs[0], 0);
    /* without the flag, the offset counts (and the position does not move) */
    cb_init(&cbs[0], fd, &one, 1, 100);
    CHECK_EQ(x_aio_read2(&cbs[0], 0), 0);
    wait_done(&cbs[0]);
    CHECK_DONE_OK(&cbs[0], 1);
    CHECK_EQ((unsigned char)one, pat_byte(100, 51));
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 100 + N * REC);
    /* on a pipe, which has no position, the flag changes nothing */
    int p[2];
    make_pipe(p);
    struct iovec piov[2] = {{"ab", 2}, {"cde", 3}};
    cb_initv(&cbs[0], p[1], piov, 2, 12345);
    CHECK_EQ(x_aio_write2(&cbs[0], AIO_OP2_FOFFSET | AIO_OP2_VECTORED), 0);
    wait_done(&cbs[0]);
    CHECK_DONE_OK(&cbs[0], 5);
    char five[5];
    cb_init(&cbs[1], p[0], five, 5, 0);
    CHECK_EQ(x_aio_read2(&cbs[1], AIO_OP2_FOFFSET), 0);
    wait_done(&cbs[1]);
    CHECK_DONE_OK(&cbs[1], 5);
    CHECK(memcmp(five, "abcde", 5) == 0);
    return 0;
}
