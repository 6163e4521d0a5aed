/* DESCRIPTION: lio_listio(LIO_WAIT) interrupted by a signal fails with EINTR; the entries still complete later */
/* GLIBC-XFAIL: glibc returns EINTR but leaves its on-stack wait list linked to the requests; completing them later crashes in __aio_notify */
#include "support/common.h"

static volatile sig_atomic_t ticks;
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si; (void)uc;
    ticks++;
}

/* Overwrite the stack below us: whatever lio_listio kept there is gone. */
__attribute__((noinline)) static void scribble_stack(void)
{
    volatile unsigned char junk[1 << 16];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0xA5;
}

int main(void)
{
    on_signal(SIGUSR1, handler);
    int p[2];
    make_pipe(p);
    int fd = tmp_pattern_file(4096, 17);
    char pbuf[16], fbuf[100];
    struct aiocb pcb, fcb;
    cb_init(&pcb, p[0], pbuf, sizeof pbuf, 0);
    pcb.aio_lio_opcode = LIO_READ;
    cb_init(&fcb, fd, fbuf, sizeof fbuf, 100);
    fcb.aio_lio_opcode = LIO_READ;
    struct aiocb *list[2] = { &fcb, &pcb };
    /* keep signalling this thread until the wait is interrupted */
    timer_t t = thread_timer_start(SIGUSR1, 50, 20);
    long long t0 = now_ms();
    CHECK_ERR(lio_listio(LIO_WAIT, list, 2, NULL), EINTR);
    long long dt = now_ms() - t0;
    thread_timer_stop(t);
    scribble_stack();
    CHECK(ticks > 0);
    if (dt > 2000)
        die("lio_listio took %lld ms to notice the signal", dt);
    /* the requests were submitted and go on */
    wait_done(&fcb);
    CHECK_DONE_OK(&fcb, sizeof fbuf);
    CHECK_PAT(fbuf, sizeof fbuf, 100, 17);
    CHECK_EQ(aio_error(&pcb), EINPROGRESS);
    write_all(p[1], "late", 4);
    wait_done(&pcb);
    CHECK_DONE_OK(&pcb, 4);
    CHECK(memcmp(pbuf, "late", 4) == 0);
    return 0;
}
