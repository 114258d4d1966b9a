/* areq.c - the walkthrough's asynchronous requests (areq.py): fetch many
 * pages at once, find their links, write them out.
 *
 *   build/areq [URLS_FILE] [OUT_FILE] [-n CONCURRENCY] [-t SECONDS]
 *
 * Reads URLs from URLS_FILE (default urls.txt; one per line, blank lines and
 * lines starting with # skipped), fetches them concurrently with HTTP/1.1 GET
 * over plain TCP, extracts every href="..." link, resolves it against the
 * page's URL, and writes one line per distinct link per page,
 * PAGE_URL<TAB>LINK_URL, to OUT_FILE (default foundurls.txt, created anew;
 * each page's lines are appended when that page is done).  A URL that fails
 * (refused, timed out, not 200, https) is reported on stderr with the reason
 * and skipped; the others complete.  -n limits the requests in flight
 * (default 100), -t bounds each request (default 10 s).
 *
 * One task per URL.  Name lookups (getaddrinfo blocks) run on worker threads
 * with ASYNC_TO_THREAD; connecting, sending and receiving are awaits on the
 * socket.  A semaphore keeps at most -n requests in flight, and a timeout
 * armed around each request cuts it off, whatever it is waiting for. */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "async.h"
#include "common.h"
#include "http_util.h"

enum { MAX_BODY = 16 * 1024 * 1024 };

struct shared {
    async_pool pool;
    async_semaphore limit;
    double timeout;
    FILE *out;
};

struct fetch {
    async_frame frame;
    struct shared *sh;
    char url[2048];
    struct url u;
    int holding;            /* a place among the -n in flight */
    async_timeout tmo;
    async_job job;
    struct addrinfo *ai, *cur;
    int gai_error;
    async_io io;
    int io_open;
    async_sock_op op;
    char request[2600];
    char buf[16384];
    struct http_response resp;
    const char *why;         /* why it failed, or NULL */
    char why_buf[64];
};

/* On a worker thread: getaddrinfo may block for seconds. */
static intptr_t resolve(void *arg) {
    struct fetch *s = (struct fetch *)arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    s->gai_error = getaddrinfo(s->u.host, s->u.port, &hints, &s->ai);
    return s->gai_error;
}

/* Distinct links of one page, in the order found (a small hash set). */
struct links {
    char **items;
    size_t n, cap;
    size_t *slots, nslots;
    const char *page;
};

static size_t hash(const char *s) {
    uint64_t h = 1469598103934665603u; /* FNV-1a, 64-bit on any platform */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return (size_t)h;
}

static void add_link(const char *href, void *ctx) {
    struct links *l = (struct links *)ctx;
    char abs[4096];
    size_t i, len;
    if (url_join(l->page, href, abs, sizeof abs) != 0) return;
    if (l->n * 2 >= l->nslots) { /* grow the set */
        size_t ns = l->nslots ? l->nslots * 2 : 256, *slots = (size_t *)calloc(ns, sizeof *slots);
        if (!slots) return;
        for (i = 0; i < l->n; i++) {
            size_t h = hash(l->items[i]) % ns;
            while (slots[h]) h = (h + 1) % ns;
            slots[h] = i + 1;
        }
        free(l->slots);
        l->slots = slots;
        l->nslots = ns;
    }
    for (i = hash(abs) % l->nslots; l->slots[i]; i = (i + 1) % l->nslots)
        if (!strcmp(l->items[l->slots[i] - 1], abs)) return; /* seen */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **items = (char **)realloc(l->items, cap * sizeof *items);
        if (!items) return;
        l->items = items;
        l->cap = cap;
    }
    len = strlen(abs) + 1;
    l->items[l->n] = (char *)malloc(len);
    if (!l->items[l->n]) return;
    memcpy(l->items[l->n], abs, len);
    l->slots[i] = ++l->n;
}

static void write_links(struct fetch *s) {
    struct links l;
    size_t i;
    memset(&l, 0, sizeof l);
    l.page = s->url;
    html_links(s->resp.body ? s->resp.body : "", add_link, &l);
    for (i = 0; i < l.n; i++) {
        fprintf(s->sh->out, "%s\t%s\n", s->url, l.items[i]);
        free(l.items[i]);
    }
    fflush(s->sh->out);
    fprintf(stderr, "Found %zu links for %s\n", l.n, s->url);
    free(l.items);
    free(l.slots);
}

static int fetch(async_task *task, void *arg) {
    struct fetch *s = (struct fetch *)arg;
    intptr_t n;
    int len;
    ASYNC_BEGIN(task, s);
    http_response_init(&s->resp, MAX_BODY);
    if (url_parse(s->url, &s->u) != 0) {
        s->why = "not a URL";
        ASYNC_RETURN(-1);
    }
    if (strcmp(s->u.scheme, "http") != 0) {
        s->why = strcmp(s->u.scheme, "https") == 0 ? "https is not supported (plain HTTP only)"
                                                   : "unsupported scheme";
        ASYNC_RETURN(-1);
    }
    ASYNC_SEM_ACQUIRE(&s->sh->limit);
    s->holding = 1;
    ASYNC_TIMEOUT_ARM(&s->tmo, s->sh->timeout); /* covers everything below */

    ASYNC_TO_THREAD(&s->sh->pool, &s->job, resolve, s);
    if (s->gai_error) {
        s->why = gai_strerror(s->gai_error);
        ASYNC_RETURN(-1);
    }
    for (s->cur = s->ai; s->cur; s->cur = s->cur->ai_next) { /* each address in turn */
        if (async_tcp_socket(ASYNC_LOOP(), &s->io, s->cur->ai_family) != ASYNC_OK) continue;
        s->io_open = 1;
        ASYNC_SOCK_CONNECT(&s->op, &s->io, s->cur->ai_addr, (unsigned)s->cur->ai_addrlen, 0);
        if (ASYNC_RESULT(&s->op) == 0) break;
        s->why = async_strerror((int)ASYNC_RESULT(&s->op));
        async_io_close(&s->io);
        s->io_open = 0;
        if (ASYNC_STATUS() == ASYNC_ETIMEDOUT) break;
    }
    if (!s->io_open) {
        if (ASYNC_STATUS() == ASYNC_ETIMEDOUT) s->why = "timed out";
        if (!s->why) s->why = "no address";
        ASYNC_RETURN(-1);
    }

    len = snprintf(s->request, sizeof s->request,
                   "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: areq (async.h)\r\n"
                   "Accept: */*\r\nConnection: close\r\n\r\n",
                   s->u.path, s->u.host, strcmp(s->u.port, "80") ? ":" : "",
                   strcmp(s->u.port, "80") ? s->u.port : "");
    ASYNC_SOCK_SENDALL(&s->op, &s->io, s->request, (size_t)len);
    if (ASYNC_RESULT(&s->op) < 0) {
        s->why = ASYNC_STATUS() == ASYNC_ETIMEDOUT ? "timed out" : async_strerror((int)ASYNC_RESULT(&s->op));
        ASYNC_RETURN(-1);
    }
    while (!s->resp.done) {
        ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf);
        n = ASYNC_RESULT(&s->op);
        if (ASYNC_STATUS() == ASYNC_ETIMEDOUT) {
            s->why = "timed out";
            ASYNC_RETURN(-1);
        }
        if (n < 0) {
            s->why = async_strerror((int)n);
            ASYNC_RETURN(-1);
        }
        if (n == 0) { /* the server closed: complete only if it had no length */
            if (s->resp.headers_done && !s->resp.chunked && s->resp.content_length < 0) break;
            s->why = "connection closed before the response was complete";
            ASYNC_RETURN(-1);
        }
        if (http_response_feed(&s->resp, s->buf, (size_t)n) != 0) {
            s->why = "malformed or oversized response";
            ASYNC_RETURN(-1);
        }
    }
    fprintf(stderr, "Got response [%d] for URL: %s\n", s->resp.status, s->url);
    if (s->resp.status != 200) {
        snprintf(s->why_buf, sizeof s->why_buf, "HTTP status %d", s->resp.status);
        s->why = s->why_buf;
        ASYNC_RETURN(-1);
    }
    write_links(s);
    ASYNC_FINALLY;
    if (s->why) fprintf(stderr, "Error for %s: %s\n", s->url, s->why);
    if (s->io_open) async_io_close(&s->io);
    if (s->ai) freeaddrinfo(s->ai);
    http_response_free(&s->resp);
    if (s->holding) async_semaphore_release(&s->sh->limit);
    ASYNC_END;
}

/* Reads the URL list: one per line, blank lines and # comments skipped. */
static int read_urls(const char *path, struct fetch **out, size_t *count) {
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0, cap = 0;
    struct fetch *v = NULL;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *e;
        size_t len;
        while (isspace((unsigned char)*p)) p++;
        e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = 0;
        len = (size_t)(e - p);
        if (!*p || *p == '#' || len >= sizeof v->url) continue;
        if (n == cap) {
            struct fetch *nv;
            cap = cap ? cap * 2 : 64;
            nv = (struct fetch *)realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        memset(&v[n], 0, sizeof v[n]); /* zeroed, like task storage must be */
        memcpy(v[n++].url, p, len + 1);
    }
    fclose(f);
    *out = v;
    *count = n;
    return 0;
}

int main(int argc, char **argv) {
    static struct shared sh;
    const char *files[2] = {"urls.txt", "foundurls.txt"};
    struct fetch *fetches = NULL;
    async_task *tasks;
    async_loop loop;
    size_t n = 0, i, nfiles = 0, failed = 0;
    long limit = ex_option(argc, argv, "-n", 100);
    int a, ok;
    sh.timeout = (double)ex_option(argc, argv, "-t", 10);
    for (a = 1; a < argc; a++) {
        if (argv[a][0] == '-' && argv[a][1]) {
            a++; /* an option and its value */
            continue;
        }
        if (nfiles < 2) files[nfiles++] = argv[a];
    }
    if (limit < 1 || sh.timeout <= 0) {
        fprintf(stderr, "usage: areq [URLS_FILE] [OUT_FILE] [-n CONCURRENCY] [-t SECONDS]\n");
        return 2;
    }
    if (read_urls(files[0], &fetches, &n) != 0) {
        perror(files[0]);
        return 1;
    }
    sh.out = fopen(files[1], "w");
    if (!sh.out) {
        perror(files[1]);
        free(fetches);
        return 1;
    }
    tasks = (async_task *)calloc(n ? n : 1, sizeof *tasks);
    if (!tasks || async_pool_start(&sh.pool, 8) != ASYNC_OK) {
        fprintf(stderr, "areq: out of memory or threads\n");
        fclose(sh.out);
        free(tasks);
        free(fetches);
        return 1;
    }
    async_semaphore_init(&sh.limit, limit);
    async_loop_init(&loop, 0);
    for (i = 0; i < n; i++) {
        fetches[i].sh = &sh;
        async_spawn(&loop, &tasks[i], fetch, &fetches[i]);
    }
    async_run(&loop);
    for (i = 0; i < n; i++) failed += async_task_result(&tasks[i]) != 0;
    fprintf(stderr, "%zu URLs, %zu fetched, %zu failed; links in %s\n", n, n - failed, failed, files[1]);
    async_pool_stop(&sh.pool);
    async_loop_close(&loop);
    /* a failed write (a full disk) shows in the stream's error flag or fclose */
    ok = !ferror(sh.out);
    ok = fclose(sh.out) == 0 && ok;
    if (!ok) perror(files[1]);
    free(tasks);
    free(fetches);
    return ok ? 0 : 1;
}
