/*
 * The sleeping frame of aio_suspend and lio_listio(LIO_WAIT), the two AIO functions that are
 * cancellation points (the Rust side, and why this is C, is in src/posix/frame.rs).
 *
 * The exported aio_suspend and lio_listio are two-instruction trampolines that jump here, so
 * this frame sits directly under the program's: the Rust code it calls (begin, after) has
 * returned before every sleep, and when the thread is cancelled in the sleep, glibc unwinds from
 * here to the program without ever passing a Rust frame. The cleanup handler (abandon, a Rust
 * function that cannot unwind) lets go of everything the wait holds.
 *
 * A sleep is one raw system call that Rust chose (ppoll or a futex wait), made with the
 * cancellation type switched to asynchronous for exactly that call: a cancel sent meanwhile acts
 * at once, and one already pending acts when the type is switched. After an EINTR (a signal
 * handler ran) pthread_testcancel acts on a cancel that the handler made pending.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

struct aiocb;
struct sigevent;
struct timespec;

/* What to sleep in: syscall(nr, a[0], ..., a[4]). The first member of the Rust Frame. */
struct call {
    long nr;
    long a[5];
};

/* Rust's side of the frame (posix::frame::OPS), passed by the trampoline. begin and after
 * return 0 or -1 (errno set) to end the call, or SLEEP with the frame's call filled in. */
struct ops {
    size_t frame_words;
    /* Where a request's status word (its error code, EINPROGRESS while in progress) is in an
     * aiocb: the word Rust's Req::status reads, with acquire. */
    size_t status_offset;
    int (*suspend_begin)(void *frame, const struct aiocb *const *list, int nent,
                         const struct timespec *timeout);
    int (*lio_begin)(void *frame, int mode, struct aiocb *const *list, int nent,
                     struct sigevent *sig);
    int (*after)(void *frame, long rc, int err);
    void (*abandon)(void *frame);
};

enum { SLEEP = 1 };

static int sleep_loop(void *frame, int r, const struct ops *ops)
{
    while (r == SLEEP) {
        const struct call *c = frame;
        long rc;
        int err, type;
        pthread_cleanup_push(ops->abandon, frame);
        pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
        rc = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4]);
        err = rc < 0 ? errno : 0;
        pthread_setcanceltype(type, &type);
        if (err == EINTR)
            pthread_testcancel();
        pthread_cleanup_pop(0);
        r = ops->after(frame, rc, err);
    }
    return r;
}

/* Whether one of the nent (> 0) entries of list is a request that is done: its status word is
 * no longer EINPROGRESS (NULL entries are ignored). Loads only, as Rust's engine::final_status
 * (an acquire load, paired with the release store that publishes a request's status). */
static int any_done(const struct aiocb *const *list, int nent, const struct ops *ops)
{
    for (int i = 0; i < nent; i++) {
        const char *cb = (const char *)list[i];
        if (cb && __atomic_load_n((const int *)(cb + ops->status_offset), __ATOMIC_ACQUIRE) !=
                      EINPROGRESS)
            return 1;
    }
    return 0;
}

/* aio_suspend past its common case: the frame, begin, and the sleeps. Out of line, so the common
 * case sets up no frame (a call to it is a tail call: this frame then sits directly under the
 * program's, as every sleeping frame must; a C frame between would do no harm either). */
__attribute__((noinline)) static int suspend_frame(const struct aiocb *const *list, int nent,
                                                   const struct timespec *timeout,
                                                   const struct ops *ops)
{
    unsigned long long frame[ops->frame_words];
    int r = ops->suspend_begin(frame, list, nent, timeout);
    return r == SLEEP ? sleep_loop(frame, r, ops) : r;
}

__attribute__((visibility("hidden"))) int
aio_rs_suspend_frame(const struct aiocb *const *list, int nent, const struct timespec *timeout,
                     const struct ops *ops)
{
    /* The common case first: a listed request is done already (every call of a loop that submits
     * one request and waits for it). 0 at once, before the timeout is looked at, as glibc does,
     * with no call into Rust and no frame (begin, a call through a pointer with its saved
     * registers, and this frame's: 66 instructions where the look itself is about 10). An
     * invalid list (nent < 0, NULL with nent > 0) is left to begin, which refuses it; begin does
     * not look at the statuses again (engine::wait): it goes on to the wait's set of queues,
     * which looks again after a first reap. */
    if (list && nent > 0 && any_done(list, nent, ops))
        return 0;
    return suspend_frame(list, nent, timeout, ops);
}

__attribute__((visibility("hidden"))) int
aio_rs_lio_frame(int mode, struct aiocb *const *list, int nent, struct sigevent *sig,
                 const struct ops *ops)
{
    unsigned long long frame[ops->frame_words];
    int r = ops->lio_begin(frame, mode, list, nent, sig);
    return r == SLEEP ? sleep_loop(frame, r, ops) : r;
}
