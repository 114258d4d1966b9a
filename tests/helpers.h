/* Shared by the test files: Criterion, async.h, and small coroutines whose
 * behaviour the tests observe through a log of events. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H
#if !defined(_GNU_SOURCE) && !defined(ASYNC_POSIX_ONLY) /* g++ predefines it */
#define _GNU_SOURCE
#endif
#include "unit.h" /* Criterion, or tests/unit_main.c's runner (Windows) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#endif
#include "async.h"

/* An event log: tests record (who, what, when) and assert on it. */
typedef struct {
    int who[4096];
    int what[4096];
    uint64_t when[4096];
    int n;
} test_log;

static inline void log_add(test_log *log, int who, int what, uint64_t when) {
    cr_assert_lt(log->n, 4096, "test log overflow");
    log->who[log->n] = who;
    log->what[log->n] = what;
    log->when[log->n] = when;
    log->n++;
}

#if defined(ASYNC_LABELS) && ASYNC_LABELS
#define ASYNC_LABELS_ON 1
#else
#define ASYNC_LABELS_ON 0
#endif

#define MS 1000000ull
#define SEC 1000000000ull

/* A task that logs `id*10+0`, sleeps `ns`, logs `id*10+1`, returns id. */
typedef struct {
    async_frame frame;
    test_log *log;
    int id;
    int64_t ns;
} sleeper;

static inline int sleeper_fn(async_task *task, void *arg) {
    sleeper *s = (sleeper *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, s->id, 0, ASYNC_NOW());
    ASYNC_SLEEP_NS(s->ns);
    log_add(s->log, s->id, 1, ASYNC_NOW());
    ASYNC_RETURN(s->id);
    ASYNC_END;
}

/* A task that sleeps, then cancels `victim` (ret: what async_cancel said). */
typedef struct {
    async_frame frame;
    async_task *victim;
    int64_t after_ns;
    int ret;
} canceller;

static inline int canceller_fn(async_task *task, void *arg) {
    canceller *s = (canceller *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->after_ns);
    s->ret = async_cancel(s->victim);
    ASYNC_END;
}

/* A virtual-time loop and an empty log, for a test to start from. */
static inline void virtual_start(async_loop *loop, test_log *log) {
    memset(log, 0, sizeof *log);
    cr_assert_eq(async_loop_init(loop, ASYNC_VIRTUAL), ASYNC_OK);
}

/* ---- sockets and fds, the same on every platform with I/O ----------------
 * What a test does to an fd itself (write to it, close it, make a pipe)
 * goes through these, so that a test file runs on Windows too, where fds
 * are SOCKETs passed as int and pipes cannot be polled: test_pipe makes a
 * connected pair of loopback sockets there (a pipe elsewhere). */
#ifdef _WIN32
#include <ws2tcpip.h>
#define TEST_SOCK(fd) ((SOCKET)(uintptr_t)(unsigned)(fd))
static inline int test_close(int fd) { return closesocket(TEST_SOCK(fd)); }
static inline long test_write(int fd, const void *buf, size_t n) {
    return send(TEST_SOCK(fd), (const char *)buf, (int)n, 0);
}
static inline long test_read(int fd, void *buf, size_t n) {
    return recv(TEST_SOCK(fd), (char *)buf, (int)n, 0);
}
static inline int test_socket(int family, int type) {
    static int started; /* Winsock, before the first loop starts it */
    SOCKET s;
    WSADATA wsa;
    if (!started) started = WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
    s = socket(family, type, 0);
    return s == INVALID_SOCKET ? -1 : (int)(unsigned)s;
}
static inline int test_nonblock(int fd) {
    u_long on = 1;
    return ioctlsocket(TEST_SOCK(fd), FIONBIO, &on);
}
/* Wait up to `ms` for fd to be readable: 1 if it is, 0 if not. */
static inline int test_poll_in(int fd, int ms) {
    WSAPOLLFD p;
    p.fd = TEST_SOCK(fd);
    p.events = POLLRDNORM;
    p.revents = 0;
    return WSAPoll(&p, 1, ms) > 0;
}
/* Open fds cannot be counted here: leak checks are Linux's. */
static inline int test_count_fds(void) { return 0; }
#else
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#define TEST_SOCK(fd) (fd)
static inline int test_close(int fd) { return close(fd); }
static inline long test_write(int fd, const void *buf, size_t n) { return (long)write(fd, buf, n); }
static inline long test_read(int fd, void *buf, size_t n) { return (long)read(fd, buf, n); }
static inline int test_socket(int family, int type) { return socket(family, type, 0); }
static inline int test_nonblock(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
static inline int test_poll_in(int fd, int ms) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) > 0;
}
/* The process's open fds (a leak check). */
static inline int test_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    cr_assert_not_null(d);
    while (readdir(d)) n++;
    closedir(d);
    return n;
}
#endif

/* A socket of `type` (SOCK_STREAM, SOCK_DGRAM) bound to 127.0.0.1 on a port
 * the system picks; *a gets its address. */
static inline int bind_loopback(int type, struct sockaddr_in *a) {
    socklen_t len = sizeof *a;
    int fd = test_socket(AF_INET, type);
    cr_assert_geq(fd, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(TEST_SOCK(fd), (struct sockaddr *)a, sizeof *a), 0);
    cr_assert_eq(getsockname(TEST_SOCK(fd), (struct sockaddr *)a, &len), 0);
    return fd;
}

/* p[0] the reading end, p[1] the writing end: a pipe, or on Windows a
 * connected pair of loopback TCP sockets (blocking, as a pipe is). */
static inline int test_pipe(int p[2]) {
#ifdef _WIN32
    struct sockaddr_in a;
    int ls = bind_loopback(SOCK_STREAM, &a);
    SOCKET s;
    cr_assert_eq(listen(TEST_SOCK(ls), 1), 0);
    p[1] = test_socket(AF_INET, SOCK_STREAM);
    cr_assert_eq(connect(TEST_SOCK(p[1]), (struct sockaddr *)&a, sizeof a), 0);
    s = accept(TEST_SOCK(ls), NULL, NULL);
    cr_assert_neq(s, INVALID_SOCKET);
    p[0] = (int)(unsigned)s;
    test_close(ls);
    return 0;
#else
    return pipe(p);
#endif
}

/* Wall-clock seconds (CLOCK_MONOTONIC) and this process's CPU seconds
 * (for the files whose own includes leave POSIX clocks out: not there). */
#ifdef _WIN32
static inline double now_s(void) {
    LARGE_INTEGER c, f;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
}

static inline void sleep_ms(long ms) { Sleep((DWORD)ms); }

static inline double cpu_s(void) {
    FILETIME created, ended, kernel, user;
    GetProcessTimes(GetCurrentProcess(), &created, &ended, &kernel, &user);
    return ((double)kernel.dwLowDateTime + (double)kernel.dwHighDateTime * 4294967296.0 +
            (double)user.dwLowDateTime + (double)user.dwHighDateTime * 4294967296.0) / 1e7;
}
#elif defined(CLOCK_MONOTONIC)
static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Block the calling thread for `ms` milliseconds (nanosleep: POSIX.1-2008
 * dropped usleep). */
static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
#endif

/* Deterministic pseudo-random numbers for randomized tests. */
static inline uint32_t xorshift32(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

#endif
