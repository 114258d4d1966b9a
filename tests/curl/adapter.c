/* integrations/async_curl.h: transfers awaited by coroutines on a real-time
 * loop, against the local servers of tests/curl/server.py.  What is checked
 * is what a user sees: the outcome of each transfer, the time and CPU a run
 * takes, that the loop ends, that connections are reused, that a timeout or
 * a cancellation leaves nothing behind (the leak and use-after-free half of
 * that is ASan's and valgrind's: make curl-check). */
#include "helpers.h" /* first: it sets the feature macros */
#include "async.h"
#include "integrations/async_curl.h"

static async_loop loop;
static async_curl web;
static struct server srv;

static void start(void) {
    server_start(&srv, 0);
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_curl_init(&web, &loop), CURLM_OK);
}
static void start_h2(void) {
    server_start(&srv, 1);
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_curl_init(&web, &loop), CURLM_OK);
}
static void stop(void) {
    async_curl_cleanup(&web);
    async_loop_close(&loop);
    server_stop(&srv);
    arena_free();
}
TestSuite(adapter, .init = start, .fini = stop, .timeout = 60);
TestSuite(adapter_h2, .init = start_h2, .fini = stop, .timeout = 60);

/* GET url (optionally under ASYNC_WAIT_FOR), keeping what came back. */
struct get {
    async_frame frame;
    async_curl_transfer x;
    char url[256];
    double limit;            /* > 0: cut short after this many seconds */
    const char *cacert;
    size_t max_body;
    int keep;                /* leave x as the perform left it */
    async_timeout tmo;
    int status;              /* ASYNC_STATUS() after the await */
    CURLcode code;
    long http, version, connects;
    size_t len;
    char body[512], error[CURL_ERROR_SIZE];
    int *done;               /* incremented when finished */
};

static int get_fn(async_task *task, void *arg) {
    struct get *s = (struct get *)arg;
    ASYNC_BEGIN(task, s);
    cr_assert_eq(async_curl_transfer_init(&s->x, &web, s->url), CURLE_OK);
    if (s->cacert) curl_easy_setopt(s->x.easy, CURLOPT_CAINFO, s->cacert);
    if (!strncmp(s->url, "https:", 6)) curl_easy_setopt(s->x.easy, CURLOPT_PIPEWAIT, 1L);
    s->x.max_body = s->max_body;
    if (s->limit > 0)
        ASYNC_WAIT_FOR(&s->tmo, s->limit, async_curl_perform_fn, &s->x);
    else
        ASYNC_CURL_PERFORM(&s->x);
    s->status = ASYNC_STATUS();
    s->code = s->x.code;
    cr_assert_eq((CURLcode)ASYNC_RESULT(&s->x), s->x.code);
    s->http = s->x.status;
    s->len = s->x.body_len;
    snprintf(s->body, sizeof s->body, "%s", s->x.body ? s->x.body : "");
    snprintf(s->error, sizeof s->error, "%s", s->x.error);
    if (s->x.easy) {
        curl_easy_getinfo(s->x.easy, CURLINFO_HTTP_VERSION, &s->version);
        curl_easy_getinfo(s->x.easy, CURLINFO_NUM_CONNECTS, &s->connects);
    }
    ASYNC_FINALLY;
    if (s->done) ++*s->done;
    if (!s->keep) async_curl_transfer_free(&s->x);
    ASYNC_END;
}

static void url(struct get *g, int port, const char *path) {
    snprintf(g->url, sizeof g->url, "http://127.0.0.1:%d%s", port, path);
}

static double run_timed(void) {
    double t0 = now_s();
    cr_assert_eq(async_run(&loop), ASYNC_OK, "the loop ended with tasks left");
    return now_s() - t0;
}

Test(adapter, a_transfer_comes_back_with_status_and_body) {
    static async_task t;
    static struct get g;
    url(&g, srv.http, "/");
    async_spawn(&loop, &t, get_fn, &g);
    run_timed();
    cr_assert_eq(g.status, ASYNC_OK);
    cr_assert_eq(g.code, CURLE_OK, "%s", g.error);
    cr_assert_eq(g.http, 200);
    cr_assert_str_eq(g.error, "");
    cr_assert_eq(g.len, strlen(g.body));
    cr_assert_not_null(strstr(g.body, "<a href=\"/page/1\">one</a>"), "%s", g.body);
    cr_assert_eq(async_curl_cleanup(&web), ASYNC_OK);
    cr_assert_null(web.multi);
}

/* A task that counts ticks every 50 ms until `done` reaches `until`. */
struct ticker {
    async_frame frame;
    int *done, until, ticks;
};
static int ticker_fn(async_task *task, void *arg) {
    struct ticker *s = (struct ticker *)arg;
    ASYNC_BEGIN(task, s);
    while (*s->done < s->until) {
        ASYNC_SLEEP_MS(50);
        s->ticks++;
    }
    ASYNC_END;
}

Test(adapter, slow_transfers_overlap_while_other_tasks_run) {
    static async_task t[5];
    static struct get g[4];
    static struct ticker tk;
    static int done;
    double took;
    int i;
    char path[64];
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/slow/%d?ms=600", i);
        url(&g[i], srv.http, path);
        g[i].done = &done;
        async_spawn(&loop, &t[i], get_fn, &g[i]);
    }
    tk.done = &done;
    tk.until = 4;
    async_spawn(&loop, &t[4], ticker_fn, &tk);
    took = run_timed();
    for (i = 0; i < 4; i++) cr_assert_eq(g[i].code, CURLE_OK, "%s", g[i].error);
    cr_assert_geq(took, 0.6);
    cr_assert_lt(took, 1.1 * slack(), "four 0.6 s pages took %.2f s", took);
    cr_assert_geq(tk.ticks, 8, "the ticker ticked %d times in %.2f s", tk.ticks, took);
}

Test(adapter, waiting_for_a_slow_page_uses_no_cpu) {
    static async_task t;
    static struct get g;
    double c0, cpu, took;
    url(&g, srv.http, "/slow/1?ms=800");
    async_spawn(&loop, &t, get_fn, &g);
    c0 = cpu_of(RUSAGE_SELF);
    took = run_timed();
    cpu = cpu_of(RUSAGE_SELF) - c0;
    cr_assert_eq(g.code, CURLE_OK, "%s", g.error);
    cr_assert_geq(took, 0.8);
    cr_assert_lt(cpu, 0.05 * slack(), "%.1f ms of CPU while waiting %.2f s", cpu * 1e3, took);
}

Test(adapter, a_timeout_removes_and_frees_the_transfer) {
    static async_task t, t2;
    static struct get g, g2;
    double took;
    url(&g, srv.http, "/hang"); /* the head and a few bytes, then nothing */
    g.limit = 0.3;
    g.keep = 1;
    async_spawn(&loop, &t, get_fn, &g);
    took = run_timed();
    cr_assert_lt(took, 1.0 * slack(), "the loop waited %.2f s", took);
    cr_assert_eq(g.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(g.code, CURLE_OPERATION_TIMEDOUT);
    cr_assert_str_eq(g.error, "timed out");
    cr_assert_null(g.x.easy, "the easy handle is freed");
    cr_assert_null(g.x.body, "the body is freed");
    cr_assert_eq(web.active, 0, "nothing left in the multi handle");
    /* the adapter goes on working */
    url(&g2, srv.http, "/page/7");
    async_spawn(&loop, &t2, get_fn, &g2);
    run_timed();
    cr_assert_eq(g2.code, CURLE_OK, "%s", g2.error);
    cr_assert_not_null(strstr(g2.body, "/page/8"));
}

/* Cancels a task after a delay. */
struct canceller {
    async_frame frame;
    async_task *victim;
    int ms;
};
static int canceller_fn(async_task *task, void *arg) {
    struct canceller *s = (struct canceller *)arg;
    ASYNC_BEGIN(task, s);
    if (s->ms) ASYNC_SLEEP_MS(s->ms);
    async_cancel(s->victim);
    ASYNC_END;
}

Test(adapter, cancelling_the_task_removes_and_frees_the_transfer) {
    static async_task t[8], c[2];
    static struct canceller k[2];
    static struct get after[6];
    struct get *g[2];
    int i;
    char path[32];
    double took;
    for (i = 0; i < 2; i++) { /* heap state: freed below, with sockets still busy */
        g[i] = (struct get *)calloc(1, sizeof *g[i]);
        g[i]->keep = 1;
        k[i].victim = &t[i];
        k[i].ms = i == 0 ? 200 : 0; /* mid-body, and before libcurl even began */
        async_spawn(&loop, &t[i], get_fn, g[i]);
        async_spawn(&loop, &c[i], canceller_fn, &k[i]);
    }
    url(g[0], srv.http, "/hang");
    snprintf(g[1]->url, sizeof g[1]->url, "https://localhost:%d/", srv.https);
    took = run_timed();
    cr_assert_lt(took, 1.0 * slack());
    for (i = 0; i < 2; i++) {
        cr_assert_eq(async_task_state(&t[i]), ASYNC_CANCELLED);
        cr_assert_eq(g[i]->x.code, CURLE_ABORTED_BY_CALLBACK);
        cr_assert_str_eq(g[i]->x.error, "cancelled");
        cr_assert_null(g[i]->x.easy);
        free(g[i]); /* libcurl must never touch it again */
    }
    cr_assert_eq(web.active, 0);
    for (i = 0; i < 6; i++) { /* more traffic, the old connections closing */
        snprintf(path, sizeof path, i % 2 ? "/chunked" : "/page/%d", i);
        url(&after[i], srv.http, path);
        async_spawn(&loop, &t[2 + i], get_fn, &after[i]);
    }
    run_timed();
    for (i = 0; i < 6; i++) cr_assert_eq(after[i].code, CURLE_OK, "%s", after[i].error);
    cr_assert_eq(async_curl_cleanup(&web), ASYNC_OK);
}

/* Several GETs one after the other, then the server's connection count. */
struct seq {
    async_frame frame;
    struct get g;
    int n, i;
    char stats[512];
};
static int seq_fn(async_task *task, void *arg) {
    struct seq *s = (struct seq *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i <= s->n; s->i++) {
        memset(&s->g, 0, sizeof s->g);
        if (s->i < s->n) url(&s->g, srv.http, "/page/1");
        else url(&s->g, srv.http, "/stats");
        ASYNC_AWAIT(get_fn, &s->g);
        cr_assert_eq(s->g.code, CURLE_OK, "%s", s->g.error);
    }
    snprintf(s->stats, sizeof s->stats, "%s", s->g.body);
    ASYNC_END;
}

Test(adapter, sequential_transfers_share_one_connection) {
    static async_task t;
    static struct seq s;
    s.n = 5;
    async_spawn(&loop, &t, seq_fn, &s);
    run_timed();
    cr_assert_str_eq(s.stats, "connections=1 requests=5");
}

Test(adapter, the_loop_ends_while_connections_stay_open_for_reuse) {
    static async_task t1, t2;
    static struct get g;
    static struct seq s;
    double took;
    url(&g, srv.http, "/page/1");
    async_spawn(&loop, &t1, get_fn, &g);
    took = run_timed(); /* libcurl keeps the connection; the run still ends */
    cr_assert_eq(g.code, CURLE_OK, "%s", g.error);
    cr_assert_lt(took, 0.5 * slack(), "the run took %.2f s", took);
    s.n = 1;
    async_spawn(&loop, &t2, seq_fn, &s); /* a later run picks it up again */
    run_timed();
    cr_assert_str_eq(s.stats, "connections=1 requests=2");
}

Test(adapter, failures_come_back_as_curl_codes_with_a_message) {
    static async_task t[8];
    static struct get g[8];
    int i;
    url(&g[0], dead_port(), "/");
    snprintf(g[1].url, sizeof g[1].url, "https://127.0.0.1:%d/", srv.badtls);
    g[1].cacert = srv.ca;
    snprintf(g[2].url, sizeof g[2].url, "https://localhost:%d/page/2", srv.https);
    g[2].cacert = srv.ca;
    snprintf(g[3].url, sizeof g[3].url, "https://localhost:%d/page/2", srv.https);
    url(&g[4], srv.http, "/big?n=100000"); /* a Content-Length over the limit */
    g[4].max_body = 1000;
    url(&g[5], srv.http, "/bigchunked?n=100000"); /* over it as it arrives */
    g[5].max_body = 1000;
    snprintf(g[6].url, sizeof g[6].url, "http://" UNKNOWN_HOST "/");
    url(&g[7], srv.http, "/big?n=1000"); /* exactly the limit */
    g[7].max_body = 1000;
    for (i = 0; i < 8; i++) async_spawn(&loop, &t[i], get_fn, &g[i]);
    run_timed();
    cr_assert_eq(g[0].code, CURLE_COULDNT_CONNECT);
    cr_assert_not_null(strstr(g[0].error, "Failed to connect"), "%s", g[0].error);
    cr_assert_eq(g[1].code, CURLE_PEER_FAILED_VERIFICATION, "%d %s", g[1].code, g[1].error);
    cr_assert_not_null(strstr(g[1].error, "certificate"), "%s", g[1].error);
    cr_assert_eq(g[2].code, CURLE_OK, "%s", g[2].error);
    cr_assert_not_null(strstr(g[2].body, "/page/3"));
    cr_assert_eq(g[3].code, CURLE_PEER_FAILED_VERIFICATION, "the test CA is not trusted by default");
    for (i = 4; i <= 5; i++) {
        cr_assert_eq(g[i].code, CURLE_FILESIZE_EXCEEDED, "%s: %d %s", g[i].url, g[i].code, g[i].error);
        cr_assert_str_eq(g[i].error, "body over the limit of 1000 bytes");
        cr_assert_leq(g[i].len, 1000);
    }
    cr_assert_eq(g[6].code, CURLE_COULDNT_RESOLVE_HOST, "%d %s", g[6].code, g[6].error);
    cr_assert_eq(g[7].code, CURLE_OK, "%s", g[7].error);
    cr_assert_eq(g[7].len, 1000);
}

/* Cleans the adapter up from inside the loop, after its last transfer. */
struct closer {
    async_frame frame;
    struct get g;
    int first, second;
};
static int closer_fn(async_task *task, void *arg) {
    struct closer *s = (struct closer *)arg;
    ASYNC_BEGIN(task, s);
    url(&s->g, srv.http, "/page/1");
    ASYNC_AWAIT(get_fn, &s->g);
    s->first = async_curl_cleanup(&web);  /* its tasks have not ended yet */
    ASYNC_YIELD();
    s->second = async_curl_cleanup(&web); /* now they have */
    ASYNC_END;
}

Test(adapter, cleanup_from_a_task_needs_one_yield_after_the_last_transfer) {
    static async_task t;
    static struct closer s;
    async_spawn(&loop, &t, closer_fn, &s);
    run_timed();
    cr_assert_eq(s.g.code, CURLE_OK, "%s", s.g.error);
    cr_assert_eq(s.first, ASYNC_EAGAIN);
    cr_assert_eq(s.second, ASYNC_OK);
    cr_assert_null(web.multi);
}

/* Established TCP connections from here to 127.0.0.1:port (/proc/net/tcp). */
static int connections_to(int port) {
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    unsigned rport, st;
    int n = 0;
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, " %*u: %*x:%*x %*x:%x %x", &rport, &st) == 2 && (int)rport == port && st == 1)
            n++;
    fclose(f);
    return n;
}

Test(adapter, a_hundred_transfers_at_once_and_cleanup_closes_their_connections) {
    static async_task t[100];
    static struct get g[100];
    int i, open;
    char path[32];
    for (i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "/page/%d", i);
        url(&g[i], srv.http, path);
        async_spawn(&loop, &t[i], get_fn, &g[i]);
    }
    run_timed();
    for (i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "/page/%d\"", i + 1);
        cr_assert_eq(g[i].code, CURLE_OK, "%d: %s", i, g[i].error);
        cr_assert_not_null(strstr(g[i].body, path), "%d: %s", i, g[i].body);
    }
    open = connections_to(srv.http);
    cr_assert_gt(open, 0, "libcurl keeps connections for reuse");
    cr_assert_leq(open, 100);
    cr_assert_eq(async_curl_cleanup(&web), ASYNC_OK);
    cr_assert_eq(connections_to(srv.http), 0, "%d connections left open", connections_to(srv.http));
}

Test(adapter_h2, http2_transfers_to_one_host_share_one_connection) {
    static async_task t[6];
    static struct get g[6];
    long connects = 0;
    int i;
    for (i = 0; i < 6; i++) {
        snprintf(g[i].url, sizeof g[i].url, "https://localhost:%d/sub/%s.html", srv.h2,
                 i % 2 ? "a" : "b");
        g[i].cacert = srv.ca;
        async_spawn(&loop, &t[i], get_fn, &g[i]);
    }
    run_timed();
    for (i = 0; i < 6; i++) {
        cr_assert_eq(g[i].code, CURLE_OK, "%s", g[i].error);
        cr_assert_eq(g[i].version, CURL_HTTP_VERSION_2_0);
        cr_assert_not_null(strstr(g[i].body, "../index.html"));
        connects += g[i].connects;
    }
    cr_assert_eq(connects, 1, "%ld connections for 6 transfers", connects);
}
