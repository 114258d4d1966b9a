/* areq_sync.c - the same job as areq.c, one URL at a time with blocking
 * sockets, for comparison.
 *
 *   build/areq_sync [URLS_FILE] [OUT_FILE] [-t SECONDS]
 *
 * Same input, same output lines, same error reports.  Each request waits for
 * the one before it, so the total is the sum of the pages' times where
 * areq's is close to the slowest page's. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "common.h"
#include "http_util.h"

enum { MAX_BODY = 16 * 1024 * 1024 };

/* The links of one page: written once each (the page's lines so far are
 * kept to spot repeats: a page's link list is small). */
struct page_links {
    const char *page;
    FILE *out;
    char *written;
    size_t len;
};

static void print_link(const char *href, void *ctx) {
    struct page_links *pl = (struct page_links *)ctx;
    char abs[4096], line[8192];
    size_t m;
    char *grown;
    if (url_join(pl->page, href, abs, sizeof abs) != 0) return;
    snprintf(line, sizeof line, "%s\t%s\n", pl->page, abs);
    if (pl->written && strstr(pl->written, line)) return; /* seen on this page */
    fputs(line, pl->out);
    m = strlen(line);
    grown = (char *)realloc(pl->written, pl->len + m + 1);
    if (!grown) return;
    memcpy(grown + pl->len, line, m + 1);
    pl->written = grown;
    pl->len += m;
}

/* Fetches one page; returns NULL on success or why it failed. */
static const char *fetch(const char *page, struct http_response *resp, int timeout, char *why, size_t whylen) {
    struct url u;
    struct addrinfo hints, *ai, *cur;
    struct timeval tv;
    char req[2600], buf[16384];
    int fd = -1, rc;
    ssize_t n;
    if (url_parse(page, &u) != 0) return "not a URL";
    if (strcmp(u.scheme, "http") != 0)
        return strcmp(u.scheme, "https") == 0 ? "https is not supported (plain HTTP only)" : "unsupported scheme";
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(u.host, u.port, &hints, &ai)) != 0) return gai_strerror(rc);
    tv.tv_sec = timeout;
    tv.tv_usec = 0;
    snprintf(why, whylen, "no address");
    for (cur = ai; cur; cur = cur->ai_next) {
        fd = socket(cur->ai_family, SOCK_STREAM, 0);
        if (fd < 0) continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, cur->ai_addr, cur->ai_addrlen) == 0) break;
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) return why;
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: areq_sync\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 u.path, u.host, strcmp(u.port, "80") ? ":" : "", strcmp(u.port, "80") ? u.port : "");
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return "send failed";
    }
    while (!resp->done) {
        n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            close(fd);
            return errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno);
        }
        if (n == 0) {
            close(fd);
            if (resp->headers_done && !resp->chunked && resp->content_length < 0) break;
            return "connection closed before the response was complete";
        }
        if (http_response_feed(resp, buf, (size_t)n) != 0) {
            close(fd);
            return "malformed or oversized response";
        }
    }
    if (fd >= 0 && resp->done) close(fd);
    fprintf(stderr, "Got response [%d] for URL: %s\n", resp->status, page);
    if (resp->status != 200) {
        snprintf(why, whylen, "HTTP status %d", resp->status);
        return why;
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *files[2] = {"urls.txt", "foundurls.txt"};
    char line[4096], why[128];
    FILE *in, *out;
    int a, nfiles = 0, timeout = (int)ex_option(argc, argv, "-t", 10);
    size_t total = 0, failed = 0;
    int ok;
    for (a = 1; a < argc; a++) {
        if (argv[a][0] == '-' && argv[a][1]) {
            a++;
            continue;
        }
        if (nfiles < 2) files[nfiles++] = argv[a];
    }
    in = fopen(files[0], "r");
    out = in ? fopen(files[1], "w") : NULL;
    if (!in || !out) {
        perror(in ? files[1] : files[0]);
        if (in) fclose(in);
        return 1;
    }
    while (fgets(line, sizeof line, in)) {
        struct http_response resp;
        const char *err;
        struct page_links pl;
        char *p = line, *e;
        while (isspace((unsigned char)*p)) p++;
        e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = 0;
        if (!*p || *p == '#') continue;
        total++;
        http_response_init(&resp, MAX_BODY);
        err = fetch(p, &resp, timeout, why, sizeof why);
        if (err) {
            fprintf(stderr, "Error for %s: %s\n", p, err);
            failed++;
        } else {
            memset(&pl, 0, sizeof pl);
            pl.page = p;
            pl.out = out;
            html_links(resp.body ? resp.body : "", print_link, &pl);
            free(pl.written);
            fflush(out);
        }
        http_response_free(&resp);
    }
    fprintf(stderr, "%zu URLs, %zu fetched, %zu failed; links in %s\n", total, total - failed, failed, files[1]);
    fclose(in);
    /* a failed write (a full disk) shows in the stream's error flag or fclose */
    ok = !ferror(out);
    ok = fclose(out) == 0 && ok;
    if (!ok) perror(files[1]);
    return ok ? 0 : 1;
}
