/* W6 load generator: C connections to an echo server on 127.0.0.1:PORT, each
 * sending a 64-byte message and waiting for its echo, over and over, for
 * SECONDS.  The same client (written with async.h) drives every server.
 * Usage: w6_load PORT [CONNECTIONS] [SECONDS_X10]
 * RESULT rps=... median_us=... p99_us=... requests=... errors=... */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "async.h"

enum { MSG = 64, MAX_SAMPLES = 1 << 22 };

static uint32_t *samples; /* round-trip latencies, ns / 100 */
static size_t nsamples;
static uint64_t stop_at;
static long errors;

struct client {
    async_frame frame;
    struct sockaddr_in *addr;
    async_io io;
    async_sock_op op;
    unsigned char out[MSG], in[MSG];
    uint64_t t0;
};

static int client(async_task *task, void *arg) {
    struct client *s = (struct client *)arg;
    int one = 1;
    ASYNC_BEGIN(task, s);
    memset(s->out, 'x', MSG);
    if (async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET) != ASYNC_OK) {
        errors++;
        ASYNC_RETURN(-1);
    }
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (struct sockaddr *)s->addr, sizeof *s->addr, 5.0);
    if (ASYNC_RESULT(&s->op) != 0) {
        errors++;
        ASYNC_RETURN(-1);
    }
    setsockopt(s->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (bench_now_ns() < stop_at) {
        s->t0 = bench_now_ns();
        ASYNC_SOCK_SENDALL(&s->op, &s->io, s->out, MSG);
        if (ASYNC_RESULT(&s->op) != MSG) break;
        ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, s->in, MSG);
        if (ASYNC_RESULT(&s->op) != MSG) break;
        if (nsamples < MAX_SAMPLES) samples[nsamples++] = (uint32_t)((bench_now_ns() - s->t0) / 100);
    }
    if (bench_now_ns() < stop_at) errors++;
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    struct sockaddr_in addr;
    long conns = bench_arg(argc, argv, 2, 100), tenths = bench_arg(argc, argv, 3, 30), i;
    struct client *c = (struct client *)calloc((size_t)conns, sizeof *c);
    async_task *t = (async_task *)calloc((size_t)conns, sizeof *t);
    async_loop loop;
    uint64_t start;
    samples = (uint32_t *)malloc(MAX_SAMPLES * sizeof *samples);
    if (!c || !t || !samples) return 1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)bench_arg(argc, argv, 1, 9000));
    async_loop_init(&loop, 0);
    start = bench_now_ns();
    stop_at = start + (uint64_t)tenths * 100000000u;
    for (i = 0; i < conns; i++) {
        c[i].addr = &addr;
        async_spawn(&loop, &t[i], client, &c[i]);
    }
    async_run(&loop);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    printf("RESULT rps=%.0f median_us=%.1f p99_us=%.1f requests=%zu errors=%ld\n",
           (double)nsamples / ((double)(bench_now_ns() - start) / 1e9),
           nsamples ? samples[nsamples / 2] / 10.0 : 0.0,
           nsamples ? samples[nsamples * 99 / 100] / 10.0 : 0.0, nsamples, errors);
    async_loop_close(&loop);
    return errors ? 1 : 0;
}
