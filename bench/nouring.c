/*
 * nouring: the benchmark's "container" launcher.  Runs a command in a process
 * where io_uring is forbidden, the way Docker's default seccomp profile and
 * many Kubernetes runtimes forbid it, without root:
 *
 *   nouring COMMAND [ARGS...]
 *
 * It sets PR_SET_NO_NEW_PRIVS (which lets an unprivileged process install a
 * seccomp filter), installs a classic-BPF filter under which io_uring_setup,
 * io_uring_enter and io_uring_register fail with EPERM (everything else is
 * allowed), then execs COMMAND.  The filter is in place before the dynamic
 * loader, any LD_PRELOAD'ed library's constructors or main run, and every
 * thread and child process inherits it.  The bench runs both its worker
 * (bench/aiobench) and fio through it.
 *
 * Build: cc -O2 -o nouring nouring.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH_NR AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_NR AUDIT_ARCH_AARCH64
#else
#error "nouring: unknown architecture (add its AUDIT_ARCH_* value)"
#endif

/* The three io_uring system calls have the same numbers on every architecture. */
#define FIRST_URING_NR SYS_io_uring_setup
#define LAST_URING_NR SYS_io_uring_register
_Static_assert(SYS_io_uring_enter == FIRST_URING_NR + 1 && LAST_URING_NR == FIRST_URING_NR + 2,
               "io_uring system call numbers are not consecutive");

/* x86-64's x32 ABI numbers a call with bit 30 set: mask it so those are caught too. */
#define X32_BIT 0x40000000u

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nouring COMMAND [ARGS...]\n");
        return 2;
    }
    struct sock_filter code[] = {
        /* A call made under another architecture's convention: not ours to judge. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT),
        /* FIRST <= nr <= LAST: EPERM.  Otherwise allow. */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, FIRST_URING_NR, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, LAST_URING_NR, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof code / sizeof *code), .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        fprintf(stderr, "nouring: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
        return 2;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        fprintf(stderr, "nouring: PR_SET_SECCOMP: %s\n", strerror(errno));
        return 2;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "nouring: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}
