/* http_util.h - what areq.c and areq_sync.c share (not part of async.h):
 * their command line, the URL list, the libcurl options and checks for one
 * page, and the page's links, resolved with libcurl's URL API.  Nothing here
 * waits: areq.c drives libcurl from coroutines (integrations/async_curl.h),
 * areq_sync.c calls curl_easy_perform, so the two differ only in
 * concurrency.
 *
 * Links are found as the walkthrough's areq.py finds them, with its regular
 * expression's rule: href="..." in double quotes (here in any case of HREF),
 * nothing else.  An HTML parser (libgumbo) would also see single-quoted and
 * unquoted attributes, decode entities (&amp;) and honour <base href>, at the
 * price of a dependency and a different link set from the walkthrough's; the
 * point of these examples is the concurrency, so they keep the simple rule. */
#ifndef EXAMPLES_HTTP_UTIL_H
#define EXAMPLES_HTTP_UTIL_H
#include <curl/curl.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- command line -------------------------------------------------------------- */

struct crawl_options {
    const char *in, *out;  /* URLS_FILE (urls.txt), OUT_FILE (foundurls.txt) */
    long concurrency;      /* -n: transfers in flight (areq; areq_sync: 1) */
    double timeout;        /* -t: seconds per URL, redirects included */
    const char *cacert;    /* --cacert: trust this CA bundle, not the system's */
    long max_redirs;       /* --max-redirs */
    long long max_size;    /* --max-size: bytes of body (after decoding) */
};

#define CRAWL_USAGE                                                           \
    "usage: %s [URLS_FILE] [OUT_FILE] [-n CONCURRENCY] [-t SECONDS]\n"        \
    "          [--cacert FILE] [--max-redirs N] [--max-size BYTES]\n"

/* A number in [lo, hi] with nothing after it. */
static inline int crawl__number(const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* One option and its value into o: 0, or -1 if unknown or out of range. */
static inline int crawl__option(struct crawl_options *o, const char *opt, const char *val) {
    double v = 0;
    if (!strcmp(opt, "--cacert")) o->cacert = val;
    else if (!strcmp(opt, "-n") && !crawl__number(val, 1, 100000, &v)) o->concurrency = (long)v;
    else if (!strcmp(opt, "-t") && !crawl__number(val, 0.001, 86400, &v)) o->timeout = v;
    else if (!strcmp(opt, "--max-redirs") && !crawl__number(val, 0, 1000, &v)) o->max_redirs = (long)v;
    else if (!strcmp(opt, "--max-size") && !crawl__number(val, 1, 1e15, &v)) o->max_size = (long long)v;
    else return -1;
    return 0;
}

/* Parses the command line into o.  0, or 2 after printing the usage. */
static inline int crawl_args(int argc, char **argv, struct crawl_options *o) {
    int a, files = 0, bad = 0;
    o->in = "urls.txt";
    o->out = "foundurls.txt";
    o->concurrency = 100;
    o->timeout = 10;
    o->cacert = NULL;
    o->max_redirs = 10;
    o->max_size = 16LL * 1024 * 1024;
    for (a = 1; a < argc && !bad; a++) {
        const char *opt = argv[a];
        if (opt[0] != '-' || !opt[1]) { /* a file name ("-" is one too) */
            if (files == 0) o->in = opt;
            else if (files == 1) o->out = opt;
            else bad = 1;
            files++;
        } else {
            bad = ++a >= argc || crawl__option(o, opt, argv[a]) != 0;
        }
    }
    if (!bad) return 0;
    fprintf(stderr, CRAWL_USAGE, argv[0]);
    return 2;
}

/* ---- the URL list ----------------------------------------------------------------- */

#ifdef _WIN32
/* The Windows C library has no POSIX getline: the same for one line (the
 * newline kept, NUL-terminated; -1 at the end of the file or out of memory). */
static inline ssize_t crawl__getline(char **line, size_t *cap, FILE *f) {
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            char *b = (char *)realloc(*line, ncap);
            if (!b) return -1;
            *line = b;
            *cap = ncap;
        }
        (*line)[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0) return -1;
    (*line)[n] = 0;
    return (ssize_t)n;
}
#define getline crawl__getline
#endif

/* One URL a line, any length, any number; blank lines and lines starting
 * with # are skipped, spaces around a URL trimmed.  0, or -1 (errno set). */
static inline int crawl_read_urls(const char *path, char ***urls, size_t *count) {
    FILE *f = fopen(path, "r");
    char *line = NULL, **v = NULL;
    size_t cap = 0, n = 0, vcap = 0;
    ssize_t len;
    if (!f) return -1;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *p = line, *e = line + len;
        while (*p && isspace((unsigned char)*p)) p++;
        while (e > p && isspace((unsigned char)e[-1])) *--e = 0;
        if (!*p || *p == '#') continue;
        if (n == vcap) {
            char **nv = (char **)realloc(v, (vcap = vcap ? vcap * 2 : 64) * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        if ((v[n] = strdup(p)) == NULL) break;
        n++;
    }
    free(line);
    fclose(f);
    *urls = v;
    *count = n;
    return 0;
}

static inline void crawl_free_urls(char **urls, size_t count) {
    size_t i;
    for (i = 0; i < count; i++) free(urls[i]);
    free(urls);
}

/* Whether url is an absolute http or https URL: NULL, or why not (in why). */
static inline const char *crawl_check_url(const char *url, char *why, size_t n) {
    CURLU *u = curl_url();
    char *scheme = NULL;
    CURLUcode rc;
    if (!u) return "out of memory";
    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (rc != CURLUE_OK)
        snprintf(why, n, "malformed URL (%s)", curl_url_strerror(rc));
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        snprintf(why, n, "unsupported scheme %s (http and https only)", scheme);
    else
        why = NULL;
    curl_free(scheme);
    curl_url_cleanup(u);
    return why;
}

/* ---- one page ----------------------------------------------------------------------- */

/* A page's body as it arrives, checked on the way: the content type as soon
 * as the body starts, the size as it grows. */
struct crawl_page {
    CURL *easy;
    char *body;             /* NUL-terminated; NULL if nothing came */
    size_t len, cap;
    long long max;
    int started, discard, not_html, too_big;
    char type[96];
};

static inline int crawl__is_html(const char *type) {
    return !strncasecmp(type, "text/html", 9) || !strncasecmp(type, "application/xhtml+xml", 21);
}

/* CURLOPT_WRITEFUNCTION.  Followed redirects' bodies never come here, so
 * the first call is the final response's. */
static inline size_t crawl_write(char *data, size_t size, size_t n, void *page) {
    struct crawl_page *p = (struct crawl_page *)page;
    size_t len = size * n;
    if (!p->started) {
        long code = 0;
        char *type = NULL;
        p->started = 1;
        curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &type);
        if (code >= 400) { /* an error page: reported by status, not read */
            p->discard = 1;
        } else if (type && !crawl__is_html(type)) {
            snprintf(p->type, sizeof p->type, "%s", type);
            p->not_html = 1; /* stop now rather than download it */
            return 0;
        }
    }
    if (p->discard) return len;
    if ((unsigned long long)p->len + len > (unsigned long long)p->max) {
        p->too_big = 1;
        return 0;
    }
    if (p->len + len + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        char *b;
        while (cap < p->len + len + 1) cap *= 2;
        b = (char *)realloc(p->body, cap);
        if (!b) return 0;
        p->body = b;
        p->cap = cap;
    }
    memcpy(p->body + p->len, data, len);
    p->len += len;
    p->body[p->len] = 0;
    return len;
}

static inline void crawl_page_free(struct crawl_page *p) {
    free(p->body);
    memset(p, 0, sizeof *p);
}

/* The options both programs set on a page's easy handle: http and https
 * only (redirects too), redirects followed up to --max-redirs, every
 * content encoding libcurl decodes (gzip, deflate, ...), HTTP/2 where the
 * server offers it over TLS, certificates verified (against --cacert if
 * given), bodies over --max-size refused, the body into page. */
static inline CURLcode crawl_setopt(CURL *e, const struct crawl_options *o, struct crawl_page *page) {
    CURLcode rc = CURLE_OK;
    memset(page, 0, sizeof *page);
    page->easy = e;
    page->max = o->max_size;
#define CRAWL__SET(opt, val)                                                  \
    do {                                                                      \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, (opt), (val));           \
    } while (0)
/* A libcurl built without TLS does not know "https", one without HTTP/2
 * refuses CURL_HTTP_VERSION_2TLS (both CURLE_UNSUPPORTED_PROTOCOL): then
 * the next best, alt. */
#define CRAWL__SET_OR(opt, val, alt)                                          \
    do {                                                                      \
        if (rc == CURLE_OK &&                                                 \
            (rc = curl_easy_setopt(e, (opt), (val))) == CURLE_UNSUPPORTED_PROTOCOL) \
            rc = curl_easy_setopt(e, (opt), (alt));                           \
    } while (0)
    CRAWL__SET_OR(CURLOPT_PROTOCOLS_STR, "http,https", "http");
    CRAWL__SET_OR(CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "http");
    CRAWL__SET(CURLOPT_FOLLOWLOCATION, 1L);
    CRAWL__SET(CURLOPT_MAXREDIRS, o->max_redirs);
    CRAWL__SET(CURLOPT_ACCEPT_ENCODING, "");
    CRAWL__SET_OR(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS, (long)CURL_HTTP_VERSION_1_1);
    CRAWL__SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
    CRAWL__SET(CURLOPT_USERAGENT, "areq (async.h example; libcurl)");
    CRAWL__SET(CURLOPT_WRITEFUNCTION, crawl_write);
    CRAWL__SET(CURLOPT_WRITEDATA, (void *)page);
    if (o->cacert) CRAWL__SET(CURLOPT_CAINFO, o->cacert);
#undef CRAWL__SET
#undef CRAWL__SET_OR
    return rc;
}

/* Why a finished transfer is no page to read: NULL if it is one.  code and
 * errbuf are libcurl's outcome; why receives the text when it needs
 * formatting. */
static inline const char *crawl_verdict(CURL *e, CURLcode code, const char *errbuf,
                                        const struct crawl_page *p,
                                        const struct crawl_options *o, char *why, size_t n) {
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (p->not_html)
        snprintf(why, n, "not HTML (Content-Type: %s)", p->type);
    else if (p->too_big || code == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, n, "body larger than --max-size %lld bytes", o->max_size);
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, n, "timed out after %g s", o->timeout);
    else if (code != CURLE_OK)
        snprintf(why, n, "%s", errbuf && errbuf[0] ? errbuf : curl_easy_strerror(code));
    else if (status >= 400)
        snprintf(why, n, "HTTP status %ld", status);
    else
        return NULL;
    return why;
}

/* "HTTP/2", "HTTP/1.1", ...: the version the last response came in. */
static inline const char *crawl_http_version(CURL *e) {
    long v = 0;
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v);
    return v == CURL_HTTP_VERSION_2_0 ? "HTTP/2" : v == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0" : "HTTP/1.1";
}

/* ---- links -------------------------------------------------------------------------- */

/* Calls found(link, ctx) for every href="..." in html. */
static inline void crawl__hrefs(const char *html, void (*found)(const char *, size_t, void *), void *ctx) {
    const char *p = html;
    while ((p = strchr(p, '=')) != NULL) {
        const char *q;
        if (p - html >= 4 && !strncasecmp(p - 4, "href", 4) && p[1] == '"' &&
            (q = strchr(p + 2, '"')) != NULL) {
            found(p + 2, (size_t)(q - p - 2), ctx);
            p = q;
        }
        p++;
    }
}

/* A page's distinct links as output lines "SOURCE<TAB>LINK\n", in the order
 * first found; a hash set of the lines written spots repeats. */
struct crawl__slot {
    uint64_t hash;        /* 0: free */
    size_t at;            /* where the link starts in text */
};
struct crawl_links {
    const char *source;
    size_t source_len;
    CURLU *base;          /* the page's final URL */
    char *base_nofrag;    /* the same without its #fragment */
    char *text;           /* the lines */
    size_t len, cap, count;
    struct crawl__slot *slots;
    size_t nslots;
    int failed;           /* out of memory */
};

static inline uint64_t crawl__hash(const char *s) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h ? h : 1;
}

static inline int crawl__grow_set(struct crawl_links *l) {
    size_t ns = l->nslots ? l->nslots * 2 : 256, i, j;
    struct crawl__slot *s = (struct crawl__slot *)calloc(ns, sizeof *s);
    if (!s) return -1;
    for (i = 0; i < l->nslots; i++) {
        if (!l->slots[i].hash) continue;
        for (j = (size_t)(l->slots[i].hash % ns); s[j].hash; j = (j + 1) % ns) {
        }
        s[j] = l->slots[i];
    }
    free(l->slots);
    l->slots = s;
    l->nslots = ns;
    return 0;
}

static inline void crawl__add(struct crawl_links *l, const char *link) {
    size_t n = strlen(link), need = l->source_len + n + 2, i;
    uint64_t h = crawl__hash(link);
    if (l->count * 2 >= l->nslots && crawl__grow_set(l) != 0) {
        l->failed = 1;
        return;
    }
    for (i = (size_t)(h % l->nslots); l->slots[i].hash; i = (i + 1) % l->nslots) {
        const char *seen = l->text + l->slots[i].at;
        if (l->slots[i].hash == h && !strncmp(seen, link, n) && seen[n] == '\n') return;
    }
    if (l->len + need + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        char *t;
        while (cap < l->len + need + 1) cap *= 2;
        t = (char *)realloc(l->text, cap);
        if (!t) {
            l->failed = 1;
            return;
        }
        l->text = t;
        l->cap = cap;
    }
    memcpy(l->text + l->len, l->source, l->source_len);
    l->text[l->len + l->source_len] = '\t';
    memcpy(l->text + l->len + l->source_len + 1, link, n);
    l->text[l->len + need - 1] = '\n';
    l->text[l->len + need] = 0;
    l->slots[i].hash = h;
    l->slots[i].at = l->len + l->source_len + 1;
    l->len += need;
    l->count++;
}

/* One href: trimmed, resolved against the final URL, kept if http(s). */
static inline void crawl__found(const char *href, size_t n, void *ctx) {
    struct crawl_links *l = (struct crawl_links *)ctx;
    char *ref, *abs = NULL, *scheme = NULL;
    size_t i;
    CURLU *u;
    while (n && isspace((unsigned char)*href)) href++, n--;
    while (n && isspace((unsigned char)href[n - 1])) n--;
    if ((ref = (char *)malloc(n + 1)) == NULL) {
        l->failed = 1;
        return;
    }
    for (i = 0; n--; href++) /* as browsers do: tabs and newlines dropped */
        if (*href != '\t' && *href != '\n' && *href != '\r') ref[i++] = *href;
    ref[n = i] = 0;
    if (!*ref || *ref == '#') { /* the page itself: libcurl 7.88 drops its last
                                   path segment here, so join these by hand */
        size_t m = strlen(l->base_nofrag);
        abs = (char *)malloc(m + n + 1);
        if (abs) {
            memcpy(abs, l->base_nofrag, m);
            memcpy(abs + m, ref, n + 1);
            crawl__add(l, abs);
        }
        free(abs);
        free(ref);
        return;
    }
    u = curl_url_dup(l->base);
    if (u && curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (!strcmp(scheme, "http") || !strcmp(scheme, "https")) &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
        crawl__add(l, abs);
    curl_free(abs);
    curl_free(scheme);
    curl_url_cleanup(u);
    free(ref);
}

/* The links of a page whose final URL is `final`, as lines naming `source`
 * (the URL from the list).  0, or -1 if out of memory; then l->text holds
 * l->len bytes of lines (free with crawl_links_free). */
static inline int crawl_links(struct crawl_links *l, const char *source, const char *final,
                              const char *html) {
    char *frag;
    memset(l, 0, sizeof *l);
    l->source = source;
    l->source_len = strlen(source);
    l->base = curl_url();
    if (!l->base || curl_url_set(l->base, CURLUPART_URL, final, 0) != CURLUE_OK ||
        curl_url_get(l->base, CURLUPART_URL, &l->base_nofrag, 0) != CURLUE_OK)
        return -1;
    if ((frag = strchr(l->base_nofrag, '#')) != NULL) *frag = 0;
    crawl__hrefs(html ? html : "", crawl__found, l);
    return l->failed ? -1 : 0;
}

static inline void crawl_links_free(struct crawl_links *l) {
    curl_url_cleanup(l->base);
    curl_free(l->base_nofrag);
    free(l->text);
    free(l->slots);
    memset(l, 0, sizeof *l);
}
#endif
