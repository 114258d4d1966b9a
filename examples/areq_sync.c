/* areq_sync.c - the same job as areq.c, one URL at a time with libcurl's
 * easy API (curl_easy_perform blocks until the page is in), for comparison.
 *
 *   build/areq_sync [URLS_FILE] [OUT_FILE] [-n CONCURRENCY] [-t SECONDS]
 *                   [--cacert FILE] [--max-redirs N] [--max-size BYTES]
 *
 * Same options (-n is accepted and has no effect: one transfer at a time),
 * same libcurl options per page, same output lines, same error reports,
 * same exit status.  One easy handle serves every URL, so connections are
 * reused as in areq.  Each request waits for the one before it, so the total
 * is the sum of the pages' times where areq's is close to the slowest
 * page's. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include "http_util.h"

/* Fetches one URL and writes its links; NULL, or why it failed. */
static const char *fetch(CURL *e, const struct crawl_options *o, const char *url, FILE *out,
                         char *why, size_t whylen) {
    struct crawl_page page;
    struct crawl_links links;
    char errbuf[CURL_ERROR_SIZE] = "", *final = NULL;
    const char *err;
    CURLcode code;
    if ((err = crawl_check_url(url, why, whylen)) != NULL) return err;
    curl_easy_reset(e); /* options only: connections and caches stay */
    if (crawl_setopt(e, o, &page) != CURLE_OK || curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000)) != CURLE_OK)
        return "cannot set up the transfer";
    code = curl_easy_perform(e);
    err = crawl_verdict(e, code, errbuf, &page, o, why, whylen);
    if (!err) {
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &final);
        fprintf(stderr, "Got response [%ld] for URL: %s (%s)\n", status, url, crawl_http_version(e));
        if (crawl_links(&links, url, final ? final : url, page.body) != 0) {
            err = "out of memory";
        } else if ((links.len && fwrite(links.text, 1, links.len, out) != links.len) || fflush(out)) {
            err = "cannot write the output file";
        } else {
            fprintf(stderr, "Found %zu links for %s\n", links.count, url);
        }
        crawl_links_free(&links);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL); /* errbuf is about to go */
    crawl_page_free(&page);
    return err;
}

int main(int argc, char **argv) {
    struct crawl_options o;
    char **urls, why[CURL_ERROR_SIZE + 64];
    size_t n, i, failed = 0;
    FILE *out;
    CURL *e;
    int ok, rc = crawl_args(argc, argv, &o);
    if (rc) return rc;
    if (crawl_read_urls(o.in, &urls, &n) != 0) {
        perror(o.in);
        return 2;
    }
    out = fopen(o.out, "w");
    if (!out) {
        perror(o.out);
        crawl_free_urls(urls, n);
        return 2;
    }
    if (n == 0) fprintf(stderr, "areq_sync: no URLs in %s\n", o.in);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    for (i = 0; i < n && e; i++) {
        const char *err = fetch(e, &o, urls[i], out, why, sizeof why);
        if (err) {
            fprintf(stderr, "Error for %s: %s\n", urls[i], err);
            failed++;
        }
    }
    if (!e) {
        fprintf(stderr, "areq_sync: cannot start libcurl\n");
        failed = n;
    }
    curl_easy_cleanup(e);
    curl_global_cleanup();
    fprintf(stderr, "%zu URLs, %zu fetched, %zu failed; links in %s\n", n, n - failed, failed, o.out);
    /* a failed write (a full disk) shows in the stream's error flag or fclose */
    ok = !ferror(out);
    ok = fclose(out) == 0 && ok;
    if (!ok) perror(o.out);
    crawl_free_urls(urls, n);
    return ok && failed == 0 ? 0 : 1;
}
