/* The crawlers, build/areq (async.h + async_curl.h) and build/areq_sync
 * (curl_easy_perform), run as a user runs them against the local servers of
 * tests/curl/server.py: the lines they write, their stderr reports, exit
 * status, time and CPU. */
#include "helpers.h" /* first: it sets the feature macros */
#include <curl/curl.h>
#include <stdarg.h>

static struct server srv;
static void start(void) { server_start(&srv, 0); }
static void start_h2(void) { server_start(&srv, 1); }
static void stop(void) {
    server_stop(&srv);
    arena_free();
}
TestSuite(crawler, .init = start, .fini = stop, .timeout = 60);
TestSuite(crawler_h2, .init = start_h2, .fini = stop, .timeout = 60);

static const char *const progs[] = {"areq", "areq_sync"};

/* Writes the URL list and runs PROG on it with extra options; the output
 * file's text is left in *out. */
static struct run crawl(const char *prog, const char *urls, const char *opts, char **out) {
    char args[1024], in[128], outp[128];
    struct run r;
    snprintf(in, sizeof in, "%s/urls.txt", srv.dir);
    snprintf(outp, sizeof outp, "%s/found-%s.txt", srv.dir, prog);
    spit(in, urls);
    snprintf(args, sizeof args, "%s %s %s", in, outp, opts);
    r = run_prog(&srv, prog, args);
    *out = slurp(outp);
    return r;
}

/* printf into a fresh buffer (freed when the test ends) */
static char *fmt(const char *f, ...) {
    char *b = (char *)keep(malloc(65536));
    va_list ap;
    cr_assert_not_null(b);
    va_start(ap, f);
    vsnprintf(b, 65536, f, ap);
    va_end(ap);
    return b;
}

Test(crawler, plain_http_pages_give_the_same_lines_from_both_crawlers) {
    const char *P = fmt("http://127.0.0.1:%d", srv.http);
    const char *urls = fmt("# the test site\n\n%s/\n  %s/chunked  \n%s/gzip\n%s/deflate\n"
                           "%s/gzipchunked\n%s/moved\n%s/page/1\n",
                           P, P, P, P, P, P, P);
    const char *expect = sorted_lines(fmt(
        "%s/\t%s/page/1\n%s/\t%s/page/2\n%s/\thttp://other.example/x\n%s/\t%s/#top\n"
        "%s/\t%s/page/3?q=1\n"
        "%s/chunked\t%s/chunk/one.html\n%s/chunked\t%s/two.html\n"  /* chunked */
        "%s/gzip\t%s/from-gzip\n%s/deflate\t%s/from-deflate\n"      /* decoded */
        "%s/gzipchunked\t%s/from-gzip-chunked\n"
        "%s/moved\t%s/dir/sibling.html\n%s/moved\t%s/top.html\n"    /* against the final URL */
        "%s/page/1\t%s/page/2\n%s/page/1\t%s/up\n",
        P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P));
    int i;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], urls, "", &out);
        cr_assert_eq(r.status, 0, "%s: exit %d\n%s", progs[i], r.status, r.err);
        cr_assert_str_eq(sorted_lines(out), expect, "%s wrote:\n%s", progs[i], out);
        cr_assert_not_null(strstr(r.err, fmt("Got response [200] for URL: %s/ (HTTP/1.1)\n", P)), "%s", r.err);
        cr_assert_not_null(strstr(r.err, fmt("Found 5 links for %s/\n", P)), "%s", r.err);
        cr_assert_not_null(strstr(r.err, "7 URLs, 7 fetched, 0 failed"), "%s", r.err);
        cr_assert_eq(count_of(r.err, "Error"), 0, "%s", r.err);
    }
}

Test(crawler, https_is_verified_against_the_system_cas_or_cacert) {
    const char *urls = fmt("https://localhost:%d/page/1\nhttps://127.0.0.1:%d/page/2\n", srv.https, srv.https);
    const char *expect = sorted_lines(fmt(
        "https://localhost:%d/page/1\thttps://localhost:%d/page/2\n"
        "https://localhost:%d/page/1\thttps://localhost:%d/up\n"
        "https://127.0.0.1:%d/page/2\thttps://127.0.0.1:%d/page/3\n"
        "https://127.0.0.1:%d/page/2\thttps://127.0.0.1:%d/up\n",
        srv.https, srv.https, srv.https, srv.https, srv.https, srv.https, srv.https, srv.https));
    int i;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], urls, fmt("--cacert %s", srv.ca), &out);
        cr_assert_eq(r.status, 0, "%s: exit %d\n%s", progs[i], r.status, r.err);
        cr_assert_str_eq(sorted_lines(out), expect, "%s", out);
        /* the throwaway CA is no system CA: without --cacert, both fail */
        r = crawl(progs[i], urls, "-t 120", &out); /* (the system CAs are slow to load under valgrind) */
        cr_assert_eq(r.status, 1, "%s", r.err);
        cr_assert_str_eq(out, "");
        cr_assert_eq(count_of(r.err, "SSL certificate problem: unable to get local issuer certificate"), 2,
                     "%s", r.err);
    }
}

Test(crawler, slow_pages_overlap_in_areq_and_add_up_in_areq_sync) {
    const char *urls = fmt("http://127.0.0.1:%d/slow/1?ms=600\nhttp://127.0.0.1:%d/slow/2?ms=600\n"
                           "https://localhost:%d/slow/3?ms=600\nhttps://localhost:%d/slow/4?ms=600\n",
                           srv.http, srv.http, srv.https, srv.https);
    const char *opts = fmt("--cacert %s", srv.ca);
    char *out;
    struct run a = crawl("areq", urls, opts, &out), s;
    cr_assert_eq(a.status, 0, "%s", a.err);
    cr_assert_eq(count_of(out, "\n"), 4, "%s", out);
    cr_assert_geq(a.secs, 0.6);
    cr_assert_lt(a.secs, 1.3 * slack(), "areq took %.2f s for four 0.6 s pages", a.secs);
    /* waiting is not polling: the process sleeps while the pages are slow
     * (valgrind's own CPU time would drown this) */
    if (slack() == 1.0) cr_assert_lt(a.cpu, 0.3, "areq used %.0f ms of CPU", a.cpu * 1e3);
    s = crawl("areq_sync", urls, opts, &out);
    cr_assert_eq(s.status, 0, "%s", s.err);
    cr_assert_eq(count_of(out, "\n"), 4, "%s", out);
    cr_assert_geq(s.secs, 2.4, "areq_sync took %.2f s", s.secs);
}

Test(crawler, bad_input_gets_one_line_each_and_the_rest_completes) {
    const char *limit = slack() == 1.0 ? "1.5" : "10"; /* -t: the hanging page's time */
    const char *P = fmt("http://127.0.0.1:%d", srv.http);
    const char *urls = fmt(
        "not a url\n"
        "ftp://127.0.0.1:%d/x\n"
        "http://" UNKNOWN_HOST "/\n"
        "http://127.0.0.1:%d/refused\n"
        "https://127.0.0.1:%d/badcert\n"
        "%s/loop\n%s/hang\n%s/big?n=50000\n%s/bigchunked?n=50000\n%s/image.png\n%s/text.txt\n%s/missing\n"
        "%s/page/1\nhttps://localhost:%d/page/2\n",
        srv.http, dead_port(), srv.badtls, P, P, P, P, P, P, P, P, srv.https);
    const char *errors[][2] = {
        {"not a url", "malformed URL (Bad scheme)"},
        {fmt("ftp://127.0.0.1:%d/x", srv.http), "unsupported scheme ftp (http and https only)"},
        {"http://" UNKNOWN_HOST "/", "Could not resolve host: " UNKNOWN_HOST},
        {"/refused", "Failed to connect to 127.0.0.1 port"},
        {"/badcert", "SSL certificate problem: unable to get local issuer certificate"},
        {fmt("%s/loop", P), "Maximum (10) redirects followed"},
        {fmt("%s/hang", P), fmt("timed out after %s s", limit)},
        {fmt("%s/big?n=50000", P), "body larger than --max-size 20000 bytes"},
        {fmt("%s/bigchunked?n=50000", P), "body larger than --max-size 20000 bytes"},
        {fmt("%s/image.png", P), "not HTML (Content-Type: image/png)"},
        {fmt("%s/text.txt", P), "not HTML (Content-Type: text/plain)"},
        {fmt("%s/missing", P), "HTTP status 404"},
    };
    const char *expect = sorted_lines(fmt(
        "%s/page/1\t%s/page/2\n%s/page/1\t%s/up\n"
        "https://localhost:%d/page/2\thttps://localhost:%d/page/3\n"
        "https://localhost:%d/page/2\thttps://localhost:%d/up\n",
        P, P, P, P, srv.https, srv.https, srv.https, srv.https));
    int i, j;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], urls, fmt("-t %s --max-size 20000 --cacert %s", limit, srv.ca), &out);
        cr_assert_eq(r.status, 1, "%s: exit %d\n%s", progs[i], r.status, r.err);
        cr_assert_str_eq(sorted_lines(out), expect, "%s wrote:\n%s", progs[i], out);
        cr_assert_eq(count_of(r.err, "Error for "), 12, "%s", r.err);
        for (j = 0; j < 12; j++) { /* one line naming the URL and the reason */
            const char *line = strstr(r.err, "Error for ");
            int found = 0;
            for (; line; line = strstr(line + 1, "Error for ")) {
                const char *end = strchr(line, '\n');
                char one[1024];
                snprintf(one, sizeof one, "%.*s", (int)(end - line), line);
                if (strstr(one, errors[j][0]) && strstr(one, errors[j][1])) found++;
            }
            cr_assert_eq(found, 1, "%s: no single line for '%s' saying '%s':\n%s", progs[i], errors[j][0],
                         errors[j][1], r.err);
        }
        cr_assert_not_null(strstr(r.err, "14 URLs, 2 fetched, 12 failed"), "%s", r.err);
        if (i == 0) cr_assert_lt(r.secs, 3.0 * slack(), "areq took %.2f s", r.secs);
    }
}

Test(crawler, an_empty_list_is_no_failure) {
    int i;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], "# nothing here\n\n", "", &out);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert_str_eq(out, "");
        cr_assert_not_null(strstr(r.err, fmt("%s: no URLs in %s/urls.txt\n", progs[i], srv.dir)), "%s", r.err);
        r = crawl(progs[i], "", "", &out);
        cr_assert_eq(r.status, 0, "%s", r.err);
    }
}

Test(crawler, a_bad_command_line_or_list_exits_2) {
    int i;
    for (i = 0; i < 2; i++) {
        struct run r = run_prog(&srv, progs[i], fmt("%s/no-such-file %s/out", srv.dir, srv.dir));
        cr_assert_eq(r.status, 2);
        cr_assert_not_null(strstr(r.err, "No such file or directory"), "%s", r.err);
        r = run_prog(&srv, progs[i], "-n 0");
        cr_assert_eq(r.status, 2);
        cr_assert_not_null(strstr(r.err, "usage: "), "%s", r.err);
        cr_assert_eq(run_prog(&srv, progs[i], "--insecure yes").status, 2);
        cr_assert_eq(run_prog(&srv, progs[i], "-t").status, 2);
        cr_assert_eq(run_prog(&srv, progs[i], "a b c").status, 2);
    }
}

Test(crawler, a_failed_write_is_reported) {
    char args[256];
    int i;
    snprintf(args, sizeof args, "%s/urls.txt /dev/full", srv.dir);
    spit(fmt("%s/urls.txt", srv.dir), fmt("http://127.0.0.1:%d/page/1\n", srv.http));
    for (i = 0; i < 2; i++) {
        struct run r = run_prog(&srv, progs[i], args);
        cr_assert_eq(r.status, 1, "%s", r.err);
        cr_assert_not_null(strstr(r.err, "cannot write the output file"), "%s", r.err);
    }
}

/* The walkthrough's urls.txt, in shape: a front page (by name and by
 * address), a 404, a section with relative links, a redirect, a compressed
 * page, a text file. */
Test(crawler, the_walkthroughs_urls_txt) {
    const char *S = fmt("https://localhost:%d", srv.https), *I = fmt("https://127.0.0.1:%d", srv.https);
    const char *urls = fmt("%s/walk/\n%s/walk/3/this-url-will-404.html\n%s/walk/guides/\n%s/walk/\n"
                           "%s/walk/tipsheets/morning-money\n%s/walk/markets/economics\n"
                           "%s/walk/rfc/rfc2616.txt\n",
                           S, S, S, I, S, S, S);
    const char *expect = sorted_lines(fmt(
        "%s/walk/\t%s/walk/guides/\n%s/walk/\t%s/walk/about.html\n%s/walk/\thttps://www.example.org/feed\n"
        "%s/walk/guides/\t%s/walk/\n%s/walk/guides/\t%s/walk/guides/a/b.html\n"
        "%s/walk/guides/\thttps://cdn.example.net/lib.js\n"
        "%s/walk/\t%s/walk/guides/\n%s/walk/\t%s/walk/about.html\n%s/walk/\thttps://www.example.org/feed\n"
        "%s/walk/tipsheets/morning-money\t%s/walk/tipsheets/final/money.html\n"
        "%s/walk/tipsheets/morning-money\t%s/walk/\n"
        "%s/walk/markets/economics\t%s/walk/markets/\n"
        "%s/walk/markets/economics\t%s/walk/markets/rates?x=1&amp;y=2\n",
        S, S, S, S, S, S, S, S, S, S, I, I, I, I, I, S, S, S, S, S, S, S, S));
    int i;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], urls, fmt("--cacert %s", srv.ca), &out);
        cr_assert_eq(r.status, 1, "%s", r.err);
        cr_assert_str_eq(sorted_lines(out), expect, "%s wrote:\n%s", progs[i], out);
        cr_assert_not_null(strstr(r.err, fmt("Error for %s/walk/3/this-url-will-404.html: HTTP status 404\n", S)),
                           "%s", r.err);
        cr_assert_not_null(strstr(r.err, fmt("Error for %s/walk/rfc/rfc2616.txt: not HTML (Content-Type: text/plain)\n", S)),
                           "%s", r.err);
        cr_assert_not_null(strstr(r.err, "7 URLs, 5 fetched, 2 failed"), "%s", r.err);
    }
}

Test(crawler, connections_are_reused) {
    CURL *e = curl_easy_init();
    char url[128], body[128] = "";
    FILE *mem;
    int i, conns = -1, reqs = -1;
    char *out;
    struct run r;
    const char *urls = "";
    for (i = 0; i < 12; i++) urls = fmt("%shttp://127.0.0.1:%d/page/%d\n", urls, srv.http, i);
    r = crawl("areq", urls, "-n 2", &out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(count_of(out, "\n"), 24);
    /* ask the server how many connections those 12 requests came over */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/stats", srv.http);
    mem = fmemopen(body, sizeof body - 1, "w");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, mem);
    cr_assert_eq(curl_easy_perform(e), CURLE_OK);
    fclose(mem);
    curl_easy_cleanup(e);
    cr_assert_eq(sscanf(body, "connections=%d requests=%d", &conns, &reqs), 2, "%s", body);
    cr_assert_eq(reqs, 12);
    cr_assert_leq(conns - 1, 3, "%d connections for 12 requests, 2 at a time", conns - 1); /* - ours */
}

Test(crawler_h2, http2_where_the_server_offers_it) {
    const char *H = fmt("https://localhost:%d", srv.h2);
    const char *urls = fmt("%s/index.html\n%s/sub/a.html\n%s/sub/b.html\n", H, H, H);
    const char *expect = sorted_lines(fmt(
        "%s/index.html\t%s/sub/a.html\n%s/index.html\t%s/sub/b.html\n"
        "%s/sub/a.html\t%s/index.html\n%s/sub/b.html\t%s/index.html\n",
        H, H, H, H, H, H, H, H));
    int i;
    for (i = 0; i < 2; i++) {
        char *out;
        struct run r = crawl(progs[i], urls, fmt("--cacert %s", srv.ca), &out);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert_str_eq(sorted_lines(out), expect, "%s", out);
        cr_assert_eq(count_of(r.err, "(HTTP/2)\n"), 3, "%s", r.err);
    }
}

Test(crawler, no_fixed_cap_on_the_number_or_length_of_urls) {
    size_t cap = 1 << 20, len = 0;
    char *urls = (char *)malloc(cap), *out, pad[6001];
    struct run r;
    int i;
    cr_assert_not_null(urls);
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    for (i = 0; i < 600; i++)
        len += (size_t)snprintf(urls + len, cap - len, "http://127.0.0.1:%d/page/%d\n", srv.http, i);
    snprintf(urls + len, cap - len, "http://127.0.0.1:%d/page/1?%s\n", srv.http, pad);
    r = crawl("areq", urls, "-n 50", &out);
    cr_assert_eq(r.status, 0, "%.2000s", r.err);
    cr_assert_eq(count_of(out, "\n"), 2 * 601);
    cr_assert_not_null(strstr(out, pad), "the 6000-byte URL is in the output");
    cr_assert_not_null(strstr(r.err, "601 URLs, 601 fetched, 0 failed"), "%.2000s", r.err);
    free(urls);
}
