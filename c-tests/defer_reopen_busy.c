/* DESCRIPTION: reads submitted back to back on a number whose earlier file is still busy with a request (a write blocked on its source page), after the program closed that file and opened another one at the number, read the new file's data, never EBADF; the blocked write completes against its own file */
#include "support/uffd.h"
#include "support/defer.h"

#define SEED_A 58
#define SEED_B 59
enum { N = 6, SZ = 4096, WRITE_AT = 1 << 20 };

int main(void)
{
    struct uffd_buf ub = uffd_buf_new(1);
    int a = tmp_pattern_file(1 << 20, SEED_A);
    int b = tmp_pattern_file(1 << 20, SEED_B);
    int keep_a = SYS(dup(a)); /* to look at A afterwards */
    /* Reads on A, so that the number is known (its class) and a read on another aiocb follows
     * a read. */
    defer_prime(a, SEED_A);
    /* A write to A that runs and blocks on its source page: A stays busy. */
    static char page[UFFD_PAGE];
    pat_fill(page, sizeof page, WRITE_AT, SEED_A + 100);
    struct aiocb w;
    cb_init(&w, a, uffd_page(&ub, 0), UFFD_PAGE, WRITE_AT);
    SYS(aio_write(&w));
    CHECK_EQ(uffd_wait_fault(&ub, DONE_MS), 0);
    /* The program closes A and opens B at the same number. */
    SYS(dup2(b, a));
    close(b);
    static char buf[N][SZ];
    struct aiocb cb[N];
    for (int i = 0; i < N; i++) {
        memset(buf[i], 0, SZ);
        cb_init(&cb[i], a, buf[i], SZ, (off_t)SZ * (3 * i + 1));
        CHECK_EQ(aio_read(&cb[i]), 0);
    }
    /* (glibc runs a number's requests one after another: the reads wait for the write.) */
    uffd_fill(&ub, 0, page);
    for (int i = 0; i < N; i++) {
        wait_done(&cb[i]);
        CHECK_DONE_OK(&cb[i], SZ);
        CHECK_PAT(buf[i], SZ, (long long)SZ * (3 * i + 1), SEED_B);
    }
    wait_done(&w);
    CHECK_DONE_OK(&w, UFFD_PAGE);
    static char back[UFFD_PAGE];
    CHECK_EQ(pread(keep_a, back, sizeof back, WRITE_AT), sizeof back);
    if (memcmp(back, page, sizeof back) != 0)
        die("the blocked write's data is not in its own file");
    return 0;
}
