/* DESCRIPTION: struct aiocb/aiocb64/sigevent have glibc's x86_64 size and field offsets */
#include "support/common.h"
#include <stddef.h>

#define OFF(type, field, want) CHECK_EQ(offsetof(type, field), want)

#define LAYOUT(type)                          \
    do {                                      \
        CHECK_EQ(sizeof(type), 168);          \
        OFF(type, aio_fildes, 0);             \
        OFF(type, aio_lio_opcode, 4);         \
        OFF(type, aio_reqprio, 8);            \
        OFF(type, aio_buf, 16);               \
        OFF(type, aio_nbytes, 24);            \
        OFF(type, aio_sigevent, 32);          \
        OFF(type, __next_prio, 96);           \
        OFF(type, __abs_prio, 104);           \
        OFF(type, __policy, 108);             \
        OFF(type, __error_code, 112);         \
        OFF(type, __return_value, 120);       \
        OFF(type, aio_offset, 128);           \
        OFF(type, __glibc_reserved, 136);     \
    } while (0)

int main(void)
{
    LAYOUT(struct aiocb);
    LAYOUT(struct aiocb64);
    CHECK_EQ(sizeof(struct sigevent), 64);
    CHECK_EQ(sizeof(((struct aiocb *)0)->aio_offset), 8);
    CHECK_EQ(sizeof(((struct aiocb64 *)0)->aio_offset), 8);
    return 0;
}
