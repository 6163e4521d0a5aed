/* DESCRIPTION: a pipe (with data) put at the number of reads deferred into a batch at the very moment the batch is handed to the kernel (a seccomp trap on io_submit makes the swap right before the call runs, after any check the library made) is never read: every read ends with the file's data or an error, and every byte written to the pipe is still there */
#include "support/defer.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define SEED 57
enum { N = 8, SZ = 4096, PIPE_BYTES = 3000, ROUNDS = 20 };

#if defined(__x86_64__)
/* The test's own io_submit: a system call made from a known address, which the filter lets
 * through (the library's are trapped). */
long swap_raw_syscall3(long nr, long a, long b, long c);
extern char swap_raw_after[];
__asm__(".text\n"
        ".globl swap_raw_syscall3\n"
        ".type swap_raw_syscall3,@function\n"
        "swap_raw_syscall3:\n"
        "  mov %rdi, %rax\n"
        "  mov %rsi, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  mov %rcx, %rdx\n"
        "  syscall\n"
        ".globl swap_raw_after\n"
        "swap_raw_after:\n"
        "  ret\n");

static int num = -1, pipe_rd = -1;
static atomic_int armed, swapped, trapped;

/* io_submit from this thread: put the pipe at `num` first (once armed), then make the call the
 * library asked for. */
static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    if (si->si_syscall != SYS_io_submit) {
        g[REG_RAX] = -ENOSYS;
        return;
    }
    atomic_fetch_add(&trapped, 1);
    if (atomic_exchange(&armed, 0)) {
        if (dup2(pipe_rd, num) == num)
            atomic_store(&swapped, 1);
    }
    g[REG_RAX] = swap_raw_syscall3(SYS_io_submit, g[REG_RDI], g[REG_RSI], g[REG_RDX]);
}

/* Traps io_submit made by this thread (and threads it starts from now on) anywhere but in
 * swap_raw_syscall3. The library's threads that exist already are not filtered. */
static void trap_io_submit_here(void)
{
    unsigned long after = (unsigned long)swap_raw_after;
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_submit, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)after, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(after >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog fprog = { .len = sizeof prog / sizeof prog[0], .filter = prog };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    SYS(sigaction(SIGSYS, &sa, NULL));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        skip("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
        skip("seccomp: %s", strerror(errno));
}

int main(void)
{
    int fd = tmp_pattern_file(1 << 20, SEED);
    /* The library's threads start here, before the filter (so only this thread is trapped). */
    defer_prime(fd, SEED);
    trap_io_submit_here();
    static char buf[N][SZ];
    struct aiocb cb[N];
    int swaps = 0;
    for (int round = 0; round < ROUNDS; round++) {
        num = SYS(dup(fd));
        defer_prime(num, SEED);
        int p[2];
        make_pipe(p);
        pipe_rd = p[0];
        char data[PIPE_BYTES];
        memset(data, 'P', sizeof data);
        write_all(p[1], data, sizeof data);
        for (int i = 0; i < N; i++) {
            memset(buf[i], 0, SZ);
            cb_init(&cb[i], num, buf[i], SZ, (off_t)SZ * (i + 1 + round));
            CHECK_EQ(aio_read(&cb[i]), 0);
        }
        /* Only now: an io_submit made inside an aio_read is that call's own business. */
        atomic_store(&swapped, 0);
        atomic_store(&armed, 1);
        for (int i = 0; i < N; i++)
            wait_done(&cb[i]);
        atomic_store(&armed, 0);
        if (!atomic_load(&swapped)) {
            /* Issued without an io_submit on this thread (another engine, or the helper got to
             * the batch first): nothing was swapped this round. */
            for (int i = 0; i < N; i++) {
                CHECK_DONE_OK(&cb[i], SZ);
                CHECK_PAT(buf[i], SZ, (long long)SZ * (i + 1 + round), SEED);
            }
        } else {
            swaps++;
            for (int i = 0; i < N; i++) {
                int e = aio_error(&cb[i]);
                ssize_t n = aio_return(&cb[i]);
                if (e == 0) {
                    if (n != SZ)
                        die("round %d: read %d returned %zd after the swap", round, i, n);
                    CHECK_PAT(buf[i], SZ, (long long)SZ * (i + 1 + round), SEED);
                } else {
                    CHECK_EQ(n, -1);
                }
            }
            SYS(fcntl(num, F_SETFL, O_NONBLOCK));
            char back[PIPE_BYTES + 1];
            ssize_t got = read(num, back, sizeof back);
            if (got != PIPE_BYTES)
                die("round %d: the pipe holds %zd bytes, %d were written", round, got, PIPE_BYTES);
        }
        close(num);
        close(p[0]);
        close(p[1]);
    }
    if (swaps == 0)
        skip("no io_submit was made for the deferred reads on this thread (%d trapped)", atomic_load(&trapped));
    return 0;
}
#else
int main(void) { skip("x86_64 only (a system call made from a known address)"); }
#endif
