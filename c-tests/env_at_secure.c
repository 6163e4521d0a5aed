/* DESCRIPTION: in secure-execution mode (AT_SECURE: a setuid/setgid program) every AIO_RS_* variable is ignored: no stats file is created or written through a symlink, no counters file in AIO_RS_STATS_DIR, no report or log on stderr, AIO_RS_BACKEND does not pick the engine */
#define TEST_ALARM 30
#include "support/common.h"
#include <grp.h>
#include <sys/auxv.h>

/*
 * How AT_SECURE is had: as root, a setuid-root copy of this program run by
 * uid 65534 (the kernel sets AT_SECURE because the effective uid differs
 * from the real one).  Without root, a setgid copy for a supplementary
 * group of ours that is not our primary group does the same with gids.
 * With neither (or on a nosuid file system, or under no_new_privs, which
 * the io_uring-forbidding launcher sets) the test is skipped.
 *
 * The copy runs in the role "probe": it uses aio-rs (linked, or loaded by
 * absolute path, since the loader ignores LD_PRELOAD paths in secure mode),
 * reads a file with AIO, prints AT_SECURE and which kernel objects the
 * engine made, and exits (the exit report, if any, is written then).
 */

#define NOBODY 65534

/* --------------------------------------------------------------- probe */

static int count_map_lines(const char *what)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        die("fopen /proc/self/maps");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

static int probe(const char *lib)
{
    printf("secure=%lu\n", getauxval(AT_SECURE));
    /* direct references: the linked aio-rs, or glibc's */
    int (*rd)(struct aiocb *) = aio_read;
    int (*sus)(const struct aiocb *const[], int, const struct timespec *) =
        aio_suspend;
    int (*err)(const struct aiocb *) = aio_error;
    if (!is_aio_rs((void *)rd)) {
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            die("dlopen %s: %s", lib, dlerror());
        rd = (int (*)(struct aiocb *))dlsym(h, "aio_read");
        sus = (int (*)(const struct aiocb *const[], int, const struct timespec *))
            dlsym(h, "aio_suspend");
        err = (int (*)(const struct aiocb *))dlsym(h, "aio_error");
    }
    if (!is_aio_rs((void *)rd) || !sus || !err)
        die("aio-rs not found in the probe");
    int fd = tmp_pattern_file(4096, 54);
    char buf[4096];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    if (rd(&cb) != 0)
        die("aio_read");
    const struct aiocb *list[1] = { &cb };
    long long deadline = now_ms() + DONE_MS;
    while (err(&cb) == EINPROGRESS) {
        if (now_ms() > deadline)
            die("the read did not complete");
        struct timespec ts = ms_ts(1000);
        sus(list, 1, &ts);
    }
    CHECK_EQ(err(&cb), 0);
    CHECK_PAT(buf, sizeof buf, 0, 54);
    printf("engine uring=%d kaio=%d\n", count_fds("io_uring") > 0,
           count_map_lines("[aio]") > 0);
    fflush(stdout);
    exit(0);
}

/* -------------------------------------------------------- orchestrator */

struct run {
    int status;
    char out[4096], err[8192];
};

static void read_into(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    buf[n] = 0;
}

/* Runs `prog probe lib` with exactly the environment `env`, as uid/gid
 * NOBODY when drop is set; captures stdout and stderr. */
static void run_probe(const char *prog, const char *lib, char *const env[],
                      int drop, struct run *r)
{
    int out[2], err[2];
    make_pipe(out);
    make_pipe(err);
    pid_t pid = SYS(fork());
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        if (drop && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
                     setuid(NOBODY) != 0))
            _exit(126);
        char *const argv[] = { (char *)prog, "probe", (char *)lib, NULL };
        execve(prog, argv, env);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    read_into(out[0], r->out, sizeof r->out);
    read_into(err[0], r->err, sizeof r->err);
    close(out[0]);
    close(err[0]);
    SYS(waitpid(pid, &r->status, 0));
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        die("probe failed (status 0x%x)\nstdout: %s\nstderr: %s", r->status,
            r->out, r->err);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    int in = SYS(open(from, O_RDONLY | O_CLOEXEC));
    int out = SYS(open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        write_all(out, buf, (size_t)n);
    if (n < 0)
        die("read %s", from);
    SYS(fchmod(out, mode));
    close(in);
    close(out);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char dir[4096];
static char prog[4200], wdir[4200];

/* Removes every entry of directory d (no subdirectories expected), then d. */
static void remove_flat_dir(const char *d)
{
    DIR *dd = opendir(d);
    if (dd) {
        struct dirent *e;
        while ((e = readdir(dd)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char path[8400];
                snprintf(path, sizeof path, "%s/%s", d, e->d_name);
                if (unlink(path) != 0)
                    rmdir(path);
            }
        closedir(dd);
    }
    if (rmdir(d) != 0)
        fprintf(stderr, "could not remove %s: %s\n", d, strerror(errno));
}

/* The test's directory and what the probes left in it (a counters file in w
 * when the skip comes before take_counter_files). */
static void remove_dir(void)
{
    char w[4400];
    snprintf(w, sizeof w, "%s/w", dir);
    if (access(w, F_OK) == 0)
        remove_flat_dir(w);
    remove_flat_dir(dir);
}

/* How many counters files (aio-rs-stats.*) directory d holds; removes them. */
static int take_counter_files(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd)
        die("opendir %s", d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strncmp(e->d_name, "aio-rs-stats.", 13) == 0) {
            char path[8400];
            snprintf(path, sizeof path, "%s/%s", d, e->d_name);
            SYS(unlink(path));
            n++;
        }
    closedir(dd);
    return n;
}

static int orchestrate(const char *lib);

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "probe") == 0)
        return probe(argv[2]);

    /* Which aio-rs this run uses (linked or preloaded); none under glibc. */
    Dl_info info;
    void *fn = (void *)aio_read;
    if (!is_aio_rs(fn) || !dladdr(fn, &info))
        skip("plain glibc: there is no AIO_RS_* variable to ignore");
    static char lib[4096];
    if (!realpath(info.dli_fname, lib))
        die("realpath %s", info.dli_fname);
    snprintf(dir, sizeof dir, "%s/aio-ctest-secure-XXXXXX", tmp_dir());
    if (!mkdtemp(dir))
        die("mkdtemp %s", dir);
    /* The checks run in a child, so that the directory goes whatever
     * they end with. */
    fflush(NULL);
    pid_t pid = SYS(fork());
    if (pid == 0)
        _exit(orchestrate(lib));
    int st;
    SYS(waitpid(pid, &st, 0));
    remove_dir();
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    die("the test child died (status 0x%x)", st);
}

static int orchestrate(const char *lib)
{

    int root = getuid() == 0;
    gid_t sgid = 0;
    if (!root) {
        gid_t groups[256];
        int n = getgroups(256, groups);
        int found = 0;
        for (int i = 0; i < n && !found; i++)
            if (groups[i] != getgid()) {
                sgid = groups[i];
                found = 1;
            }
        if (!found)
            skip("not root and no supplementary group: no way to get AT_SECURE");
    }

    SYS(chmod(dir, 0755)); /* others may enter, not create */
    snprintf(wdir, sizeof wdir, "%s/w", dir);
    SYS(mkdir(wdir, 0777));
    SYS(chmod(wdir, 0777)); /* anyone may create here */
    snprintf(prog, sizeof prog, "%s/prog", dir);
    copy_file("/proc/self/exe", prog, 0755);

    /* A file the secure program must not touch, and a symlink to it. */
    char target[4300], link[4300], fresh[4300], control[4300];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fresh, sizeof fresh, "%s/stats", dir);
    snprintf(control, sizeof control, "%s/control", wdir);
    int t = SYS(open(target, O_WRONLY | O_CREAT | O_EXCL, 0644));
    write_all(t, "precious\n", 9);
    close(t);
    SYS(symlink(target, link));

    /* Controls, not secure: the variables do take effect in this setup. */
    char e_stats[] = "AIO_RS_STATS=1", e_verbose[] = "AIO_RS_VERBOSE=1";
    char e_control[4400], e_fresh[4400], e_link[4400], e_sdir[4400];
    snprintf(e_sdir, sizeof e_sdir, "AIO_RS_STATS_DIR=%s", wdir);
    snprintf(e_control, sizeof e_control, "AIO_RS_STATS_FILE=%s", control);
    snprintf(e_fresh, sizeof e_fresh, "AIO_RS_STATS_FILE=%s", fresh);
    snprintf(e_link, sizeof e_link, "AIO_RS_STATS_FILE=%s", link);
    struct run base, forced, r;
    char *const env_base[] = { NULL };
    run_probe(prog, lib, env_base, root, &base);
    if (strstr(base.out, "secure=0") == NULL)
        die("the plain copy runs in secure mode: %s", base.out);
    const char *eng_base = strstr(base.out, "engine");
    /* an AIO_RS_BACKEND whose engine differs from the default one */
    static char e_backend[64];
    const char *backends[] = { "threads", "kaio", "uring" };
    int have_backend = 0;
    for (int i = 0; i < 3 && !have_backend; i++) {
        snprintf(e_backend, sizeof e_backend, "AIO_RS_BACKEND=%s", backends[i]);
        char *const env_forced[] = { e_backend, NULL };
        run_probe(prog, lib, env_forced, root, &forced);
        const char *eng = strstr(forced.out, "engine");
        have_backend = eng && eng_base && strcmp(eng, eng_base) != 0;
    }
    if (!have_backend)
        printf("no AIO_RS_BACKEND value changes what the engine creates "
               "here; that part is not checked\n");
    char *const env_control[] = { e_stats, e_control, e_verbose, NULL };
    run_probe(prog, lib, env_control, root, &r);
    if (!exists(control))
        die("control: AIO_RS_STATS_FILE=%s was not created when not secure",
            control);
    if (strstr(r.err, "aio-rs") == NULL)
        die("control: AIO_RS_VERBOSE=1 printed nothing when not secure");
    char *const env_sdir[] = { e_stats, e_sdir, NULL };
    run_probe(prog, lib, env_sdir, root, &r);
    if (take_counter_files(wdir) != 1)
        die("control: AIO_RS_STATS_DIR=%s did not get one counters file when not secure", wdir);

    /* Now make the copy setuid root (or setgid to a supplementary group). */
    if (root) {
        SYS(chown(prog, 0, 0));
        SYS(chmod(prog, 04755));
    } else {
        SYS(chown(prog, (uid_t)-1, sgid));
        SYS(chmod(prog, 02755));
    }
    /* 1: a stats file in a directory the user may not create in */
    char *const env1[] = { e_stats, e_fresh, e_verbose, e_sdir,
                           have_backend ? e_backend : NULL, NULL };
    run_probe(prog, lib, env1, root, &r);
    if (strstr(r.out, "secure=1") == NULL)
        skip("no AT_SECURE for the set-id copy (nosuid mount or "
             "no_new_privs): %s", r.out);
    if (exists(fresh))
        die("secure mode: AIO_RS_STATS_FILE=%s was created", fresh);
    if (take_counter_files(wdir) != 0)
        die("secure mode: a counters file was created in AIO_RS_STATS_DIR=%s", wdir);
    if (strstr(r.err, "aio-rs"))
        die("secure mode: AIO_RS_VERBOSE/AIO_RS_STATS wrote to stderr:\n%s",
            r.err);
    if (have_backend && strcmp(strstr(r.out, "engine"), eng_base) != 0)
        die("secure mode: %s was honoured (%s instead of the default %s)",
            e_backend, strstr(r.out, "engine"), eng_base);
    /* 2: a stats file that is a symlink to a file of root's */
    char *const env2[] = { e_stats, e_link, NULL };
    run_probe(prog, lib, env2, root, &r);
    char back[64] = { 0 };
    int tf = SYS(open(target, O_RDONLY));
    CHECK(read(tf, back, sizeof back - 1) >= 0);
    close(tf);
    if (strcmp(back, "precious\n") != 0)
        die("secure mode: the stats report went through the symlink into "
            "%s:\n%s", target, back);
    /* 3: the report to stderr */
    char *const env3[] = { e_stats, NULL };
    run_probe(prog, lib, env3, root, &r);
    if (strstr(r.err, "aio-rs"))
        die("secure mode: AIO_RS_STATS=1 printed a report:\n%s", r.err);
    return 0;
}
