/* DESCRIPTION: after pipe reads that their thread waited for alone in aio_suspend, the program closes its read end and does nothing more with AIO: a writer gets EPIPE within a bounded time (no duplicate aio-rs made for the reads keeps the read end open) */
#include "support/common.h"
#include "support/stream.h"

#include <fcntl.h>
#include <signal.h>

#define ROUNDS 5
#define BOUND_MS 2000

int main(void)
{
    CHECK_EQ(sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL), 0);
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        make_pipe(p);
        char buf[4] = { 0 };
        for (int i = 0; i < 4; i++) {
            read_fed_byte(p[0], p[1], buf, 'y');
        }
        close(p[0]);
        SYS(fcntl(p[1], F_SETFL, O_NONBLOCK));
        long long until = now_ms() + BOUND_MS;
        int epipe = 0;
        while (!epipe) {
            ssize_t n = write(p[1], "w", 1);
            if (n < 0 && errno == EPIPE)
                epipe = 1;
            else if (n < 0 && errno != EAGAIN)
                die("write: %s", strerror(errno));
            else if (now_ms() > until)
                die("no EPIPE %d ms after the read end was closed", BOUND_MS);
        }
        close(p[1]);
    }
    return 0;
}
