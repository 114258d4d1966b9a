/* http_util.h - the plain-C parts of the areq examples (not part of
 * async.h): URL parsing and joining, an HTTP/1.1 response parser fed bytes
 * as they arrive, and href extraction.  No I/O here: areq.c drives it with
 * coroutines, areq_sync.c with blocking sockets. */
#ifndef EXAMPLES_HTTP_UTIL_H
#define EXAMPLES_HTTP_UTIL_H
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- URLs --------------------------------------------------------------------- */

struct url {
    char scheme[16], host[256], port[8], path[2048]; /* path includes ?query */
};

/* Splits scheme://host[:port]/path.  Returns 0, or -1 if it is not one. */
static inline int url_parse(const char *s, struct url *u) {
    const char *p = strstr(s, "://"), *h, *slash, *colon;
    size_t n;
    memset(u, 0, sizeof *u);
    if (!p || (size_t)(p - s) >= sizeof u->scheme) return -1;
    for (n = 0; s + n < p; n++) u->scheme[n] = (char)tolower((unsigned char)s[n]);
    h = p + 3;
    slash = h + strcspn(h, "/?#");
    colon = memchr(h, ':', (size_t)(slash - h));
    n = (size_t)((colon ? colon : slash) - h);
    if (n == 0 || n >= sizeof u->host) return -1;
    memcpy(u->host, h, n);
    if (colon) {
        n = (size_t)(slash - colon - 1);
        if (n == 0 || n >= sizeof u->port) return -1;
        memcpy(u->port, colon + 1, n);
    } else {
        const char *port = strcmp(u->scheme, "https") == 0 ? "443" : "80";
        memcpy(u->port, port, strlen(port) + 1);
    }
    n = strcspn(slash, "#"); /* the fragment never goes to the server */
    if (n >= sizeof u->path - 1) return -1;
    if (*slash != '/') u->path[0] = '/';
    memcpy(u->path + (*slash != '/'), slash, n);
    return 0;
}

/* Removes "." and ".." segments (RFC 3986, 5.2.4) from a path, in place. */
static inline void url_remove_dots(char *path) {
    char *in = path, *out = path;
    while (*in) {
        if (!strncmp(in, "../", 3)) in += 3;
        else if (!strncmp(in, "./", 2) || !strncmp(in, "/./", 3)) in += 2;
        else if (!strcmp(in, "/.")) in[1] = 0;
        else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
            in += 3;
            if (*in == 0) *--in = '/';
            else in[0] = '/';
            while (out > path && *--out != '/') {
            }
            *out = 0;
        } else if (!strcmp(in, ".") || !strcmp(in, "..")) {
            *in = 0;
        } else {
            do *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    *out = 0;
}

/* urljoin(base, ref) into out (size n): the absolute URL ref means on the
 * page at base.  Returns 0, or -1 if the result does not fit. */
static inline int url_join(const char *base, const char *ref, char *out, size_t n) {
    char buf[4096], *q;
    const char *scheme_end = strstr(base, "://"), *auth_end;
    size_t i, len;
    for (i = 0; ref[i] && (isalnum((unsigned char)ref[i]) || strchr("+-.", ref[i])); i++) {
    }
    if (i > 0 && ref[i] == ':') { /* already absolute (any scheme) */
        len = strlen(ref);
        if (len >= n) return -1;
        memcpy(out, ref, len + 1);
        return 0;
    }
    if (!scheme_end) return -1;
    auth_end = scheme_end + 3 + strcspn(scheme_end + 3, "/?#");
    if (ref[0] == '/' && ref[1] == '/') { /* network-path reference */
        return snprintf(out, n, "%.*s:%s", (int)(scheme_end - base), base, ref) >= (int)n ? -1 : 0;
    }
    if (ref[0] == '#' || ref[0] == 0) { /* same page */
        i = strcspn(base, "#");
        return snprintf(out, n, "%.*s%s", (int)i, base, ref) >= (int)n ? -1 : 0;
    }
    if (ref[0] == '?') {
        i = (size_t)(auth_end - base) + strcspn(auth_end, "?#");
        return snprintf(out, n, "%.*s%s", (int)i, base, ref) >= (int)n ? -1 : 0;
    }
    if (ref[0] == '/') {
        len = strlen(ref);
        if (len >= sizeof buf) return -1;
        memcpy(buf, ref, len + 1);
    } else { /* relative to the base's directory */
        size_t dir = strcspn(auth_end, "?#");
        const char *last = auth_end;
        for (i = 0; i < dir; i++)
            if (auth_end[i] == '/') last = auth_end + i + 1;
        if (snprintf(buf, sizeof buf, "%s%.*s%s", *auth_end == '/' ? "" : "/",
                     (int)(last - auth_end), auth_end, ref) >= (int)sizeof buf)
            return -1;
    }
    q = buf + strcspn(buf, "?#"); /* dots are removed from the path only */
    {
        char tail[4096];
        size_t tail_len = strlen(q);
        memcpy(tail, q, tail_len + 1); /* q is in buf: it fits */
        *q = 0;
        url_remove_dots(buf);
        if (buf[0] != '/') {
            memmove(buf + 1, buf, strlen(buf) + 1);
            buf[0] = '/';
        }
        len = strlen(buf);
        if (len + tail_len >= sizeof buf) return -1;
        memcpy(buf + len, tail, tail_len + 1);
    }
    return snprintf(out, n, "%.*s%s", (int)(auth_end - base), base, buf) >= (int)n ? -1 : 0;
}

/* ---- HTTP responses ------------------------------------------------------------ */

/* Feed the bytes of a response as they come; the body collects in `body`. */
struct http_response {
    int status;          /* 0 until the status line is in */
    int headers_done, chunked, done;
    long content_length; /* -1: unknown (read to the end of the stream) */
    long chunk_left;     /* chunked: bytes left in this chunk, -1: need a size line */
    char head[16384];
    size_t head_len;
    char *body;
    size_t body_len, body_cap, max_body;
    char line[64]; /* chunk size lines */
    size_t line_len;
    int after_chunk; /* expecting the CRLF that ends a chunk */
};

static inline void http_response_init(struct http_response *r, size_t max_body) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    r->chunk_left = -1;
    r->max_body = max_body;
}

static inline void http_response_free(struct http_response *r) {
    free(r->body);
    r->body = NULL;
}

static inline int http__append(struct http_response *r, const char *p, size_t n) {
    if (r->body_len + n > r->max_body) return -1;
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap * 2 : 65536;
        char *b;
        while (cap < r->body_len + n + 1) cap *= 2;
        b = (char *)realloc(r->body, cap);
        if (!b) return -1;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return 0;
}

/* The code in a status line ("HTTP/1.1 200 OK"), or -1 if it has none. */
static inline int http__status(const char *head) {
    const char *sp = head + strcspn(head, " \r\n");
    char *end;
    long code;
    if (strncmp(head, "HTTP/", 5) != 0 || *sp != ' ') return -1;
    code = strtol(sp + 1, &end, 10);
    return end > sp + 1 && code >= 100 && code <= 999 ? (int)code : -1;
}

/* The value of a header in the head, or NULL (case-insensitive name). */
static inline const char *http__header(const char *head, const char *name) {
    size_t n = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2]) {
        p += 2;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t') p++;
            return p;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static inline int http__body(struct http_response *r, const char *p, size_t n) {
    while (n > 0 && !r->done) {
        if (!r->chunked) {
            size_t take = n;
            if (r->content_length >= 0 && (long)(r->body_len + take) > r->content_length)
                take = (size_t)(r->content_length - (long)r->body_len);
            if (http__append(r, p, take)) return -1;
            p += take;
            n -= take;
            if (r->content_length >= 0 && (long)r->body_len == r->content_length) r->done = 1;
            if (take == 0) break;
        } else if (r->after_chunk) { /* skip the CRLF after a chunk's data */
            if (*p == '\n') r->after_chunk = 0;
            p++;
            n--;
        } else if (r->chunk_left < 0) { /* a size line */
            char c = *p++;
            n--;
            if (c == '\n') {
                r->line[r->line_len] = 0;
                r->chunk_left = strtol(r->line, NULL, 16);
                r->line_len = 0;
                if (r->chunk_left == 0) r->done = 1; /* trailers are ignored */
            } else if (r->line_len < sizeof r->line - 1) {
                r->line[r->line_len++] = c;
            }
        } else {
            size_t take = n < (size_t)r->chunk_left ? n : (size_t)r->chunk_left;
            if (http__append(r, p, take)) return -1;
            p += take;
            n -= take;
            r->chunk_left -= (long)take;
            if (r->chunk_left == 0) {
                r->chunk_left = -1;
                r->after_chunk = 1;
            }
        }
    }
    return 0;
}

/* Returns 0, or -1 on a malformed or oversized response. */
static inline int http_response_feed(struct http_response *r, const char *p, size_t n) {
    if (!r->headers_done) {
        char *end;
        size_t take = n < sizeof r->head - 1 - r->head_len ? n : sizeof r->head - 1 - r->head_len;
        const char *v;
        int status;
        memcpy(r->head + r->head_len, p, take);
        r->head_len += take;
        r->head[r->head_len] = 0;
        end = strstr(r->head, "\r\n\r\n");
        if (!end) return r->head_len == sizeof r->head - 1 ? -1 : 0;
        status = http__status(r->head);
        if (status < 0) return -1;
        r->status = status;
        end[2] = 0; /* the head ends at the blank line */
        r->headers_done = 1;
        v = http__header(r->head, "Transfer-Encoding");
        r->chunked = v && !strncasecmp(v, "chunked", 7);
        v = http__header(r->head, "Content-Length");
        if (v && !r->chunked) r->content_length = strtol(v, NULL, 10);
        if (r->content_length == 0 || r->status == 204 || r->status == 304) r->done = 1;
        /* what came after the blank line is body: in head, and past it */
        if (http__body(r, end + 4, r->head_len - (size_t)(end + 4 - r->head))) return -1;
        return take < n ? http__body(r, p + take, n - take) : 0;
    }
    return http__body(r, p, n);
}

/* ---- links ---------------------------------------------------------------------- */

/* Calls found(link, ctx) for every href="..." in html (as the walkthrough's
 * regular expression does: double quotes, any case of HREF). */
static inline void html_links(const char *html, void (*found)(const char *, void *), void *ctx) {
    const char *p = html;
    char link[4096];
    while ((p = strchr(p, '=')) != NULL) {
        const char *q;
        if (p - html >= 4 && !strncasecmp(p - 4, "href", 4) && p[1] == '"' &&
            (q = strchr(p + 2, '"')) != NULL) {
            size_t n = (size_t)(q - p - 2);
            if (n < sizeof link) {
                memcpy(link, p + 2, n);
                link[n] = 0;
                found(link, ctx);
            }
            p = q;
        }
        p++;
    }
}
#endif
