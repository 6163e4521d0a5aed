/* DESCRIPTION: built with _FILE_OFFSET_BITS=64 (so aio_read means aio_read64), every AIO entry point still resolves into libaio_rs */
/* GLIBC-XFAIL: plain glibc mode has no aio-rs by design; this test checks the library modes */
#define _FILE_OFFSET_BITS 64
#include "lib_active.c"
