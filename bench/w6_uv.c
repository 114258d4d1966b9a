/* W6 echo server, libuv: the classic uv_read_start / uv_write echo.
 * Usage: w6_uv PORT.  Prints "READY" once listening; runs until killed. */
#include "bench.h"
#include <uv.h>

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req;

static void on_close(uv_handle_t *h) { free(h); }

static void on_write(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    (void)status;
    free(w->buf.base);
    free(w);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
    (void)h;
    buf->base = (char *)malloc(size);
    buf->len = buf->base ? size : 0;
}

static void on_read(uv_stream_t *client, ssize_t n, const uv_buf_t *buf) {
    if (n > 0) {
        write_req *w = (write_req *)malloc(sizeof *w);
        w->buf = uv_buf_init(buf->base, (unsigned)n);
        uv_write(&w->req, client, &w->buf, 1, on_write);
        return;
    }
    free(buf->base);
    if (n < 0) uv_close((uv_handle_t *)client, on_close);
}

static void on_connection(uv_stream_t *server, int status) {
    uv_tcp_t *client;
    if (status < 0) return;
    client = (uv_tcp_t *)malloc(sizeof *client);
    uv_tcp_init(server->loop, client);
    if (uv_accept(server, (uv_stream_t *)client) == 0) {
        uv_tcp_nodelay(client, 1);
        uv_read_start((uv_stream_t *)client, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)client, on_close);
    }
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", (int)bench_arg(argc, argv, 1, 9000), &addr);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&server, 1024, on_connection))
        return 1;
    printf("READY\n");
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
