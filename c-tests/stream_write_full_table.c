/* DESCRIPTION: with the descriptor table full (after the first AIO calls), an aio_write to a pipe with room and an aio_read whose data is there are accepted and done (neither has to wait, so neither needs a descriptor to hold its file; with io_uring forced they may be refused with EAGAIN); an aio_read that would have to wait is refused with EAGAIN or completes with the data written later (no byte lost or read twice); lio_listio alike; with descriptors free again a read waits as usual */
#include "support/fdtest.h"

#define LIMIT 64

static char rbuf[16];
/* AIO_RS_BACKEND=uring: every request holds its file (a helper thread submits
 * it to the ring later), so with the table full it may be refused. */
static int may_refuse;

/* A request that needs no descriptor: accepted (1), or, where it may be
 * refused, refused with EAGAIN (0). */
static int accepted(int r, const char *what)
{
    if (may_refuse)
        return accepted_or_eagain(r, what);
    if (r != 0)
        die("%s refused (errno %d)", what, errno);
    return 1;
}

/* An aio_read of 1 byte on the empty pipe p: refused with EAGAIN (nothing
 * consumed: the byte written next is still there for read), or accepted and
 * completed with that byte. */
static void read_that_must_wait(int p[2], char byte, const char *what)
{
    struct aiocb cb;
    cb_init(&cb, p[0], rbuf, 1, 0);
    int r = aio_read(&cb);
    write_all(p[1], &byte, 1);
    if (r == 0) {
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 1);
        CHECK_EQ(rbuf[0], byte);
    } else {
        if (errno != EAGAIN)
            die("%s: aio_read refused with errno %d, not EAGAIN", what, errno);
        read_within(p[0], rbuf, 1, DONE_MS);
        CHECK_EQ(rbuf[0], byte);
    }
    CHECK_EQ(read_available(p[0], rbuf, sizeof rbuf), 0);
}

int main(void)
{
    const char *be = getenv("AIO_RS_BACKEND");
    may_refuse = is_aio_rs((void *)aio_read) && be && strcmp(be, "uring") == 0;
    int p[2];
    make_pipe(p);
    /* The first AIO calls: a write, and a read that waits for its data. */
    struct aiocb cb;
    cb_init(&cb, p[1], "a", 1, 0);
    CHECK_EQ(aio_write(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    cb_init(&cb, p[0], rbuf, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ(rbuf[0], 'a');
    read_that_must_wait(p, 'b', "before the table is full");

    fill_fd_table(LIMIT);

    cb_init(&cb, p[1], "hello", 5, 0);
    if (accepted(aio_write(&cb), "aio_write to a pipe with room")) {
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 5);
    } else {
        write_all(p[1], "hello", 5);
    }
    memset(rbuf, 0, sizeof rbuf);
    cb_init(&cb, p[0], rbuf, 5, 0);
    if (accepted(aio_read(&cb), "aio_read of data already there")) {
        wait_done(&cb);
        CHECK_DONE_OK(&cb, 5);
    } else {
        read_within(p[0], rbuf, 5, DONE_MS);
    }
    CHECK(memcmp(rbuf, "hello", 5) == 0);
    for (int i = 0; i < 3; i++)
        read_that_must_wait(p, (char)('c' + i), "with the table full");

    struct aiocb lw, lr;
    cb_init(&lw, p[1], "yz", 2, 0);
    lw.aio_lio_opcode = LIO_WRITE;
    cb_init(&lr, p[0], rbuf, 2, 0);
    lr.aio_lio_opcode = LIO_READ;
    struct aiocb *list[2] = { &lw, &lr };
    if (accepted(lio_listio(LIO_WAIT, list, 2, NULL), "lio_listio of a write and a read")) {
        CHECK_DONE_OK(&lw, 2);
        CHECK_DONE_OK(&lr, 2);
        CHECK(memcmp(rbuf, "yz", 2) == 0);
    } else {
        /* Each entry either ran or was refused on its own. */
        int wrote = aio_error(&lw) == 0;
        if (wrote)
            CHECK_EQ(aio_return(&lw), 2);
        else
            CHECK_EQ(aio_error(&lw), EAGAIN);
        if (aio_error(&lr) == 0) {
            CHECK(wrote);
            CHECK_EQ(aio_return(&lr), 2);
        } else {
            CHECK_EQ(aio_error(&lr), EAGAIN);
            if (wrote)
                read_within(p[0], rbuf, 2, DONE_MS);
            else
                memcpy(rbuf, "yz", 2);
        }
        CHECK(memcmp(rbuf, "yz", 2) == 0);
    }

    unfill_fd_table(16);
    cb_init(&cb, p[0], rbuf, 1, 0);
    CHECK_EQ(aio_read(&cb), 0);
    write_all(p[1], "w", 1);
    wait_done(&cb);
    CHECK_DONE_OK(&cb, 1);
    CHECK_EQ(rbuf[0], 'w');
    return 0;
}
