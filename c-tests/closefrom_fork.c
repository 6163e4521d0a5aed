/* DESCRIPTION: after the first AIO calls the program closes every fd above 2 (closefrom) and reuses the numbers; a fork child then neither closes nor touches those descriptors (at fork, and after AIO in the child), and AIO works in it */
#define TEST_ALARM 20
#include "support/fdtest.h"

int main(void)
{
    /* AIO of every kind first, so that an implementation has whatever
     * descriptors it opens on the way */
    struct elsewhere warm;
    elsewhere_open(&warm);
    aio_elsewhere(&warm);

    int hi = highest_fd();
    close_from(3);
    static struct reuse_set set;
    reuse_fill(&set, hi + 4);
    printf("closed up to fd %d; %d files and pipes reuse the numbers\n", hi,
           set.n);

    /* the fork comes first (AIO after closefrom in the parent is
     * closefrom_files' subject) */
    int w = tmp_pattern_file(1 << 16, 52);
    char b[512];
    struct aiocb cb;

    /* glibc keeps idle AIO threads for a second, and a fork child inherits
     * their count but not the threads, so its own requests would never run
     * (a glibc limitation outside this test): let idle threads end first.
     * Bounded; an implementation whose threads stay only costs the bound. */
    long long settle = now_ms() + 1300;
    while (thread_count() > 1 && now_ms() < settle)
        pause_us(2000);

    pid_t pid = SYS(fork());
    if (pid == 0) {
        alarm(TEST_ALARM);
        reuse_check_open(&set, "fork child, at once");
        cb_init(&cb, w, b, sizeof b, 4096);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, sizeof b);
        CHECK_PAT(b, sizeof b, 4096, 52);
        new_thread_request(w, "fork child");
        reuse_check_open(&set, "fork child, after AIO");
        reuse_check_data(&set, "fork child, after AIO");
        _exit(0);
    }
    wait_child_ok(pid, "the fork child");

    /* the parent's descriptors are intact too */
    reuse_check_open(&set, "parent, after the fork");
    reuse_check_data(&set, "parent, after the fork");
    return 0;
}
