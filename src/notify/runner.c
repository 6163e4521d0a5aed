/*
 * The thread body that runs SIGEV_THREAD callbacks for aio-rs.
 *
 * A callback may end its thread with pthread_exit() or be cancelled. Both unwind the thread's
 * stack, and that unwinding must never cross a Rust frame (catching it aborts the process, and
 * unwinding through Rust frames that do not expect it is undefined behaviour). So a callback
 * thread starts here, in C, and calls each callback from this loop: between the thread's start
 * and the callback there are only C frames. The Rust side is reached through the functions in
 * struct aio_rs_runner, which always return (they never unwind and are never on the stack while a
 * callback runs). The cleanup handler tells the Rust side, exactly once, that the thread ended,
 * however it ended, so the pool can replace it.
 *
 * Part of aio-rs; licensed like the project (MIT OR Apache-2.0).
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>

struct aio_rs_runner {
    /* NUL-terminated thread name, at most 15 characters. */
    char name[16];
    /* Waits for the next callback: 1 and *fn, *value set to run it, 0 to end the thread. */
    int (*take)(void *ctx, void (**fn)(union sigval), union sigval *value);
    /* The callback returned. */
    void (*done)(void *ctx);
    /* The thread ends (take said so, or the callback exited or was cancelled); the last use of
     * the runner: it may be freed here. */
    void (*gone)(void *ctx);
    void *ctx;
};

static void aio_rs_runner_gone(void *arg)
{
    struct aio_rs_runner *r = arg;
    r->gone(r->ctx);
}

__attribute__((visibility("hidden"))) void *aio_rs_runner_main(void *arg)
{
    struct aio_rs_runner *r = arg;
    void (*fn)(union sigval) = NULL;
    union sigval value;
    prctl(PR_SET_NAME, r->name, 0, 0, 0);
    pthread_cleanup_push(aio_rs_runner_gone, r);
    while (r->take(r->ctx, &fn, &value)) {
        fn(value);
        r->done(r->ctx);
    }
    pthread_cleanup_pop(1);
    return NULL;
}
