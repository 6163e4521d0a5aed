/* DESCRIPTION: every AIO entry point resolves into libaio_rs (the library really is interposed in this mode) */
/* GLIBC-XFAIL: plain glibc mode has no aio-rs by design; this test checks the library modes */
#include "support/common.h"
#include <dlfcn.h>

#define SYM(f) { #f, (void *)f }

int main(void)
{
    const struct { const char *name; void *addr; } syms[] = {
        SYM(aio_read), SYM(aio_write), SYM(aio_fsync), SYM(aio_error),
        SYM(aio_return), SYM(aio_suspend), SYM(aio_cancel), SYM(lio_listio),
        SYM(aio_read64), SYM(aio_write64), SYM(aio_fsync64),
        SYM(aio_error64), SYM(aio_return64), SYM(aio_suspend64),
        SYM(aio_cancel64), SYM(lio_listio64), SYM(aio_init),
    };
    int bad = 0;
    for (unsigned i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        Dl_info info;
        const char *where = "?";
        if (dladdr(syms[i].addr, &info) && info.dli_fname)
            where = info.dli_fname;
        if (!strstr(where, "libaio_rs")) {
            fprintf(stderr, "%s resolves to %s\n", syms[i].name, where);
            bad = 1;
        }
    }
    /* the library's own export, looked up at run time */
    const char *(*version)(void) =
        (const char *(*)(void))dlsym(RTLD_DEFAULT, "aio_rs_version");
    if (!version) {
        fprintf(stderr, "aio_rs_version not found\n");
        bad = 1;
    } else {
        printf("aio-rs %s\n", version());
    }
    return bad;
}
