/* DESCRIPTION: in a busy stream of writes on one file, the program closes the number and opens another file at it, twice (while writes are in flight, and right after the stream drained): every write lands in the file its number named when it was submitted */
/* GLIBC-XFAIL: glibc runs the requests of one fd one after another by descriptor number, so writes still queued when the number is closed and reused go into the file that took it */
#include "support/fdtest.h"

#define WS_STREAMS 3
#include "support/wstream.h"

int main(void)
{
    int num = tmp_open(0);
    int a = SYS(dup(num)); /* the test's own view of each file */
    stream(0, num, 1);
    /* writes in flight on `num`: it now names another file */
    SYS(close(num));
    int b = tmp_open(0);
    move_fd(b, num);
    int bview = SYS(dup(num));
    stream(1, num, 2);
    wait_stream(0);
    wait_stream(1);
    /* the stream drained: at once, a third file at the number */
    SYS(close(num));
    int c = tmp_open(0);
    move_fd(c, num);
    stream(2, num, 3);
    wait_stream(2);
    check_file(a, 1, "A");
    check_file(bview, 2, "B");
    check_file(num, 3, "C");
    return 0;
}
