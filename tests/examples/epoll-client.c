/*
 * epoll-client: the test load for examples/epoll-server.c. CLIENTS threads, each on its own
 * connection, share REQUESTS requests for random ranges of the FILEs (some reaching past the
 * end) and check every answer byte for byte against the file.
 *
 *   epoll-client PORT CLIENTS REQUESTS FILE...
 *
 * Exit status 0 when every answer was right, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LEN (256 * 1024)

static int port, nfiles;
static const unsigned char **maps;
static long long *sizes;
static atomic_long left, bad;

static void fail(const char *what)
{
    fprintf(stderr, "epoll-client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void *client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        fail("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char *buf = malloc(MAX_LEN);
    while (atomic_fetch_sub(&left, 1) > 0) {
        int idx = (int)(rand_r(&seed) % (unsigned)nfiles);
        long long size = sizes[idx];
        long long off = (long long)(((unsigned long long)rand_r(&seed) << 16 ^ (unsigned)rand_r(&seed)) % (unsigned long long)(size + 1000));
        long long len = 1 + rand_r(&seed) % (rand_r(&seed) % 4 ? 8192 : MAX_LEN);
        char req[64];
        int rl = snprintf(req, sizeof req, "R %d %lld %lld\n", idx, off, len);
        if (write(fd, req, (size_t)rl) != rl)
            fail("write");
        /* "OK N\n" */
        char head[32];
        size_t h = 0;
        while (h < sizeof head - 1) {
            if (read_full(fd, head + h, 1) < 0)
                fail("read header");
            if (head[h++] == '\n')
                break;
        }
        head[h] = 0;
        long long n;
        long long expect = off >= size ? 0 : (size - off < len ? size - off : len);
        if (sscanf(head, "OK %lld", &n) != 1 || n != expect) {
            fprintf(stderr, "epoll-client: R %d %lld %lld: answer \"%s\", expected %lld bytes\n", idx, off, len,
                    head, expect);
            atomic_fetch_add(&bad, 1);
            break;
        }
        if (n > 0 && read_full(fd, buf, (size_t)n) < 0)
            fail("read body");
        if (n > 0 && memcmp(buf, maps[idx] + off, (size_t)n) != 0) {
            fprintf(stderr, "epoll-client: R %d %lld %lld: wrong bytes\n", idx, off, len);
            atomic_fetch_add(&bad, 1);
            break;
        }
    }
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: epoll-client PORT CLIENTS REQUESTS FILE...\n");
        return 1;
    }
    port = atoi(argv[1]);
    int clients = atoi(argv[2]);
    atomic_store(&left, atol(argv[3]));
    nfiles = argc - 4;
    maps = calloc((size_t)nfiles, sizeof *maps);
    sizes = calloc((size_t)nfiles, sizeof *sizes);
    for (int i = 0; i < nfiles; i++) {
        int fd = open(argv[4 + i], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
            fail(argv[4 + i]);
        sizes[i] = st.st_size;
        maps[i] = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (maps[i] == MAP_FAILED)
            fail("mmap");
        close(fd);
    }
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, client, (void *)(uintptr_t)i);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    if (atomic_load(&bad)) {
        fprintf(stderr, "epoll-client: %ld wrong answers\n", atomic_load(&bad));
        return 1;
    }
    printf("epoll-client: %s requests from %d clients answered byte for byte\n", argv[3], clients);
    return 0;
}
