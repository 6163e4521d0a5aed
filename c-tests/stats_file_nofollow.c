/* DESCRIPTION: AIO_RS_STATS_FILE naming a symlink is not followed: the exit report never lands in the file the link points to */
#include "support/common.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        int fd = tmp_pattern_file(4096, 55);
        char buf[512];
        struct aiocb cb;
        cb_init(&cb, fd, buf, sizeof buf, 0);
        CHECK_EQ(aio_read(&cb), 0);
        wait_done(&cb);
        CHECK_DONE_OK(&cb, sizeof buf);
        exit(0); /* the report, if any, is written now */
    }
    if (!is_aio_rs((void *)aio_read))
        skip("plain glibc: there is no AIO_RS_STATS_FILE");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/aio-ctest-nofollow-XXXXXX", tmp_dir());
    if (!mkdtemp(dir))
        die("mkdtemp");
    char target[4200], link[4200], plain[4200];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(plain, sizeof plain, "%s/plain", dir);
    int t = SYS(open(target, O_WRONLY | O_CREAT | O_EXCL, 0644));
    write_all(t, "precious\n", 9);
    close(t);
    SYS(symlink(target, link));
    const char *files[2] = { plain, link };
    int status[2];
    for (int i = 0; i < 2; i++) {
        pid_t pid = SYS(fork());
        if (pid == 0) {
            setenv("AIO_RS_STATS", "1", 1);
            setenv("AIO_RS_STATS_FILE", files[i], 1);
            char *const args[] = { argv[0], "child", NULL };
            execv("/proc/self/exe", args);
            _exit(127);
        }
        SYS(waitpid(pid, &status[i], 0));
    }
    char back[4096] = { 0 };
    int tf = SYS(open(target, O_RDONLY));
    CHECK(read(tf, back, sizeof back - 1) >= 0);
    close(tf);
    struct stat st;
    int plain_written = stat(plain, &st) == 0 && st.st_size > 0;
    unlink(plain);
    unlink(link);
    unlink(target);
    rmdir(dir);
    for (int i = 0; i < 2; i++)
        if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0)
            die("child %d failed (status 0x%x)", i, status[i]);
    /* control: a plain path gets the report */
    if (!plain_written)
        die("AIO_RS_STATS_FILE with a plain path got no report");
    if (strcmp(back, "precious\n") != 0)
        die("the report went through the symlink into its target:\n%s", back);
    return 0;
}
