/* Shared by the libcurl tests: the local servers (tests/curl/server.py,
 * started by each test, stopped at its end or when the test process dies),
 * running a crawler and reading what it wrote, clocks. */
#ifndef TESTS_CURL_HELPERS_H
#define TESTS_CURL_HELPERS_H
#ifndef _GNU_SOURCE /* g++ predefines it */
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under valgrind (ASYNC_VALGRIND=1) everything is slower: bounds stretch. */
static inline double slack(void) { return getenv("ASYNC_VALGRIND") ? 8.0 : 1.0; }

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double cpu_of(int who) {
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Test strings live until the test ends: keep(p) notes p, arena_free (in
 * each suite's fini) frees them all. */
static void *test__arena[8192];
static int test__kept;
static inline void *keep(void *p) {
    cr_assert_lt(test__kept, 8192, "keep: too many");
    return test__arena[test__kept++] = p;
}
static inline void arena_free(void) {
    while (test__kept) free(test__arena[--test__kept]);
}

/* ---- the servers --------------------------------------------------------------- */

struct server {
    pid_t pid;
    int in;               /* its stdin: closing it stops it too */
    char dir[64];         /* its certificates, and the test's scratch files */
    char ca[96];          /* dir/ca.pem: the CA that signed the https cert */
    int http, https, badtls, h2;
};

/* Starts tests/curl/server.py (with nghttpd for HTTP/2 if h2) and waits
 * until it listens. */
static inline void server_start(struct server *s, int h2) {
    const char *script = getenv("ASYNC_CURL_SERVER");
    char line[256] = "";
    int out[2], in[2], n = 0;
    struct pollfd p;
    memset(s, 0, sizeof *s);
    strcpy(s->dir, "/tmp/async-curl-XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->ca, sizeof s->ca, "%s/ca.pem", s->dir);
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(in), 0);
    s->pid = fork();
    cr_assert_geq(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a test that dies takes it along */
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execlp("python3", "python3", script ? script : "tests/curl/server.py", s->dir,
               h2 ? "--h2" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in = in[1];
    p.fd = out[0];
    p.events = POLLIN;
    while (n < (int)sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 30000) == 1) {
        ssize_t got = read(out[0], line + n, sizeof line - 1 - (size_t)n);
        if (got <= 0) break;
        n += (int)got;
        line[n] = 0;
    }
    close(out[0]);
    cr_assert(sscanf(line, "http=%d https=%d badtls=%d h2=%d", &s->http, &s->https, &s->badtls,
                     &s->h2) >= 3,
              "the test server did not start: '%s'", line);
}

static inline int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static inline void server_stop(struct server *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    close(s->in);
    s->pid = 0;
    nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* rm -rf */
}

/* A port with nobody behind it (bound, then closed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
static inline int dead_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* An unknown host that resolves without sending a DNS query: a label over
 * 63 bytes cannot be put in one, so the resolver fails before any packet
 * leaves (strace shows none); the tests talk to nothing but 127.0.0.1. */
#define UNKNOWN_HOST                                                          \
    "no-such-host-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid"

/* ---- files and runs -------------------------------------------------------------- */

static inline char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    size_t got;
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    got = fread(buf, 1, (size_t)n, f);
    buf[got] = 0;
    fclose(f);
    return (char *)keep(buf);
}

static inline void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Where `make` put the example binaries (the sanitizer build sets this). */
static inline const char *example_dir(void) {
    const char *d = getenv("ASYNC_EXAMPLES");
    return d && *d ? d : "build";
}

struct run {
    int status;           /* exit status, or -1 if it did not exit */
    double secs, cpu;     /* wall time, and the CPU time it used */
    char *err;            /* its stderr */
};

/* Runs build/PROG with ARGS (split at spaces; no shell, so that valgrind
 * follows the program itself), stdout to /dev/null, stderr to a file. */
static inline struct run run_prog(const struct server *s, const char *prog, const char *args) {
    char path[256], errpath[128], *copy = strdup(args), *argv[64], *a;
    struct run r;
    double t0, c0;
    int st, n = 0;
    pid_t pid;
    cr_assert_not_null(copy);
    snprintf(path, sizeof path, "%s/%s", example_dir(), prog);
    snprintf(errpath, sizeof errpath, "%s/%s.err", s->dir, prog);
    argv[n++] = path;
    for (a = strtok(copy, " "); a && n < 63; a = strtok(NULL, " ")) argv[n++] = a;
    argv[n] = NULL;
    c0 = cpu_of(RUSAGE_CHILDREN);
    t0 = now_s();
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(err, 2);
        execv(path, argv);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r.secs = now_s() - t0;
    r.cpu = cpu_of(RUSAGE_CHILDREN) - c0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = slurp(errpath);
    free(copy);
    return r;
}

static inline int count_of(const char *s, const char *sub) {
    int n = 0;
    while ((s = strstr(s, sub)) != NULL) n++, s++;
    return n;
}

static inline int line_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted and joined again (the crawlers write pages in
 * the order they finish). */
static inline char *sorted_lines(const char *text) {
    char *copy = strdup(text), **v, *out, *line;
    size_t n = 0, i, len = strlen(text);
    v = (char **)calloc(len + 1, sizeof *v);
    out = (char *)calloc(len + 2, 1);
    cr_assert(copy && v && out);
    for (line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) v[n++] = line;
    qsort(v, n, sizeof *v, line_cmp);
    for (i = 0, len = 0; i < n; i++) {
        size_t m = strlen(v[i]);
        memcpy(out + len, v[i], m);
        out[len + m] = '\n';
        len += m + 1;
    }
    free(v);
    free(copy);
    return (char *)keep(out);
}
#endif
