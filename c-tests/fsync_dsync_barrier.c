/* DESCRIPTION: aio_fsync(O_DSYNC) queued behind 64 writes completes only after all of them */
#define FSYNC_OP O_DSYNC
#include "fsync_sync_barrier.c"
