/* W6 echo server, async.h: one task per connection, echoing what it reads.
 * Usage: w6_async PORT.  Prints "READY" once listening; runs until killed. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "async.h"

enum { MAX_CONNS = 1024 };

struct conn {
    async_frame frame;
    async_io io;
    async_sock_op op;
    unsigned char buf[4096];
    intptr_t n;
};

static int serve(async_task *task, void *arg) {
    struct conn *s = (struct conn *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf);
        s->n = ASYNC_RESULT(&s->op);
        if (s->n <= 0) break;
        ASYNC_SOCK_SENDALL(&s->op, &s->io, s->buf, (size_t)s->n);
        if (ASYNC_RESULT(&s->op) < 0) break;
    }
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

struct server {
    async_frame frame;
    async_io listener;
    async_sock_op op;
    int n;
    struct conn conns[MAX_CONNS];
    async_task tasks[MAX_CONNS];
};

static int accept_loop(async_task *task, void *arg) {
    struct server *s = (struct server *)arg;
    int one = 1;
    ASYNC_BEGIN(task, s);
    while (s->n < MAX_CONNS) {
        ASYNC_SOCK_ACCEPT(&s->op, &s->listener, &s->conns[s->n].io);
        if (ASYNC_RESULT(&s->op) < 0) continue;
        setsockopt(s->conns[s->n].io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        async_spawn(ASYNC_LOOP(), &s->tasks[s->n], serve, &s->conns[s->n]);
        s->n++;
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct server s;
    static async_task t;
    struct sockaddr_in a;
    async_loop loop;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)bench_arg(argc, argv, 1, 9000));
    async_loop_init(&loop, 0);
    if (async_tcp_listen(&loop, &s.listener, (struct sockaddr *)&a, sizeof a, 1024) != ASYNC_OK) return 1;
    printf("READY\n");
    fflush(stdout);
    async_spawn(&loop, &t, accept_loop, &s);
    async_run(&loop);
    return 0;
}
