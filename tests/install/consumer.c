/*
 * An ordinary user of an installed aio-rs: compiled with `pkg-config --cflags --libs aio_rs`
 * (dynamic) or with the static archive, by tests/install/install-test.sh.
 *
 * usage: consumer dynamic|static
 *
 * Checks that aio_rs_version() agrees with the header's AIO_RS_VERSION_* macros, that the POSIX
 * AIO functions the program calls are aio-rs's (in libaio_rs.so for "dynamic", linked into the
 * executable for "static"), and does a real aio_write/aio_fsync/aio_read round trip.
 * Prints "aio_rs_version: X", "aio_read from: FILE" and "consumer: ok" on success.
 */
#define _GNU_SOURCE
#include <aio_rs.h>

#include "roundtrip.h"

static int failures;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "consumer: FAIL line %d: ", __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static void in_executable(void)
{
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "dynamic") != 0 && strcmp(argv[1], "static") != 0)) {
        fprintf(stderr, "usage: consumer dynamic|static\n");
        return 2;
    }
    int is_static = strcmp(argv[1], "static") == 0;

    /* The version: the header's macros against the loaded library's string. */
    const char *version = aio_rs_version();
    CHECK(version != NULL, "aio_rs_version() returned NULL");
    if (version != NULL) {
        char expect[64];
        snprintf(expect, sizeof expect, "%d.%d.%d", (int)AIO_RS_VERSION_MAJOR,
                 (int)AIO_RS_VERSION_MINOR, (int)AIO_RS_VERSION_PATCH);
        size_t len = strlen(expect);
        CHECK(strncmp(version, expect, len) == 0 &&
                  (version[len] == '\0' || version[len] == '-' || version[len] == '+'),
              "aio_rs_version() is \"%s\" but the header says %s", version, expect);
        printf("aio_rs_version: %s\n", version);
    }

    /* Which aio_read the program uses. */
    void (*called)(void);
    {
        int (*fn)(struct aiocb *) = aio_read;
        memcpy(&called, &fn, sizeof called);
    }
    void (*version_fn)(void);
    {
        const char *(*fn)(void) = aio_rs_version;
        memcpy(&version_fn, &fn, sizeof version_fn);
    }
    if (is_static) {
        void *exe = rt_base_of(in_executable);
        CHECK(exe != NULL, "dladdr does not know the executable");
        CHECK(rt_base_of(called) == exe, "aio_read is not linked into the executable (it is in %s)",
              rt_object_of(called));
        CHECK(rt_base_of(version_fn) == exe,
              "aio_rs_version is not linked into the executable (it is in %s)",
              rt_object_of(version_fn));
        CHECK(dlopen("libaio_rs.so.0", RTLD_LAZY | RTLD_NOLOAD) == NULL,
              "libaio_rs.so.0 is loaded into a statically linked consumer");
        printf("aio_read from: %s\n", rt_object_of(called));
    } else {
        /* The definition the dynamic linker binds the program's calls to. */
        void (*bound)(void) = rt_lookup("aio_read");
        const char *object = rt_object_of(bound);
        CHECK(strstr(object, "libaio_rs.so") != NULL, "aio_read resolves into %s", object);
        object = rt_object_of(rt_lookup("aio_read64"));
        CHECK(strstr(object, "libaio_rs.so") != NULL, "aio_read64 resolves into %s", object);
        object = rt_object_of(rt_lookup("aio_suspend"));
        CHECK(strstr(object, "libaio_rs.so") != NULL, "aio_suspend resolves into %s", object);
        object = rt_object_of(version_fn);
        CHECK(strstr(object, "libaio_rs.so") != NULL, "aio_rs_version resolves into %s", object);
        printf("aio_read from: %s\n", rt_object_of(bound));
    }

    CHECK(rt_run() == 0, "the AIO round trip failed");

    if (failures != 0) {
        fprintf(stderr, "consumer: %d check(s) failed\n", failures);
        return 1;
    }
    printf("consumer: ok\n");
    return 0;
}
