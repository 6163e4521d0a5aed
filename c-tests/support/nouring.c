/*
 * nouring: run a program with io_uring unavailable.
 *
 *   nouring PROGRAM [ARGS...]
 *
 * Sets no_new_privs and installs a seccomp filter that makes
 * io_uring_setup (425), io_uring_enter (426) and io_uring_register (427)
 * fail with EPERM, then execs PROGRAM.  The filter survives exec and is
 * inherited by children, so the program sees a kernel where io_uring is
 * forbidden (as under many container runtimes) and must fall back.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define MY_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define MY_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "nouring: add the AUDIT_ARCH value for this architecture"
#endif

#define NR_URING_SETUP 425
#define NR_URING_ENTER 426
#define NR_URING_REGISTER 427

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    struct sock_filter prog[] = {
        /* other architectures (e.g. x32/i386 entry): leave alone */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MY_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* nr in [425, 427] -> EPERM */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NR_URING_SETUP, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, NR_URING_REGISTER, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {
        .len = (unsigned short)(sizeof prog / sizeof prog[0]),
        .filter = prog,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("nouring: PR_SET_NO_NEW_PRIVS");
        return 2;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
        perror("nouring: PR_SET_SECCOMP");
        return 2;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "nouring: exec %s: %s\n", argv[1], strerror(errno));
    return 127;
}
