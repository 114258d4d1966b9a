/* areq.c - the walkthrough's asynchronous requests (areq.py): fetch many
 * pages at once, find their links, write them out.  libcurl does the HTTP;
 * integrations/async_curl.h lets coroutines await its transfers.
 *
 *   build/areq [URLS_FILE] [OUT_FILE] [-n CONCURRENCY] [-t SECONDS]
 *              [--cacert FILE] [--max-redirs N] [--max-size BYTES]
 *
 * Reads URLs from URLS_FILE (default urls.txt; one per line, blank lines and
 * lines starting with # skipped), fetches them concurrently over HTTP or
 * HTTPS, and writes one line per distinct link per page,
 * URL<TAB>LINK, to OUT_FILE (default foundurls.txt, created anew; a page's
 * lines are written together when it is done).  URL is the line from the
 * list; LINK is an href="..." of the page resolved against the page's final
 * URL (after redirects), kept if it is http or https.
 *
 * Certificates are verified (against --cacert FILE instead of the system's
 * CAs if given); redirects are followed, at most --max-redirs (10); gzip and
 * deflate (and brotli, zstd) bodies are decoded; connections are reused, and
 * HTTP/2 is used where a server offers it (transfers to one host then share
 * a connection).  Each URL gets -t seconds (10), redirects included; at most
 * -n transfers are in flight (100); a body over --max-size bytes (16 MiB),
 * or one that is not HTML, is refused.
 *
 * A URL that fails gets one line on stderr, "Error for URL: reason", and the
 * others go on.  Exit status: 0 if every URL was fetched, 1 if any failed
 * (or the output could not be written), 2 for a bad command line or an
 * unreadable URL list.
 *
 * -n worker tasks take the URLs in turn, each awaiting its transfer under a
 * timeout; the loop drives libcurl's sockets and timers.  The output file is
 * written on a worker thread (ASYNC_TO_THREAD), as the walkthrough does with
 * aiofiles: see write_lines. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include "async.h"
#include "http_util.h"
#include "integrations/async_curl.h"

struct shared {
    struct crawl_options opt;
    async_curl web;
    async_pool writer;
    FILE *out;
    char **urls;
    size_t nurls, next, failed;
};

/* One URL, awaited by a worker. */
struct fetch {
    async_frame frame;
    struct shared *sh;
    const char *url;
    async_timeout tmo;
    async_curl_transfer x;
    struct crawl_page page;
    struct crawl_links links;
    async_job job;
    const char *why;         /* why it failed, or NULL */
    char why_buf[CURL_ERROR_SIZE + 64];
};

struct worker {
    async_frame frame;
    struct shared *sh;
    struct fetch f;
};

/* On the writer thread.  A write to a regular file cannot be awaited: the
 * kernel calls a file always ready, and the write blocks for as long as the
 * disk (or a network file system) takes.  Done here, that time is the
 * thread's, not the loop's: the loop keeps every transfer moving meanwhile.
 * One page's lines go out in one fwrite, so pages do not interleave. */
static intptr_t write_lines(void *arg) {
    struct fetch *s = (struct fetch *)arg;
    FILE *out = s->sh->out;
    if (s->links.len && fwrite(s->links.text, 1, s->links.len, out) != s->links.len) return -1;
    return fflush(out) == 0 ? 0 : -1;
}

static int fetch(async_task *task, void *arg) {
    struct fetch *s = (struct fetch *)arg;
    struct shared *sh = s->sh;
    char *final = NULL;
    ASYNC_BEGIN(task, s);
    if ((s->why = crawl_check_url(s->url, s->why_buf, sizeof s->why_buf)) != NULL) ASYNC_RETURN(1);
    if (async_curl_transfer_init(&s->x, &sh->web, s->url) != CURLE_OK ||
        crawl_setopt(s->x.easy, &sh->opt, &s->page) != CURLE_OK) {
        s->why = "cannot set up the transfer";
        ASYNC_RETURN(1);
    }
    /* Over TLS, wait for a connection being made to the same host to say
     * (ALPN) whether it does HTTP/2: if so, share it rather than open more. */
    if (!strncasecmp(s->url, "https:", 6)) curl_easy_setopt(s->x.easy, CURLOPT_PIPEWAIT, 1L);
    ASYNC_TIMEOUT_ARM(&s->tmo, sh->opt.timeout);
    ASYNC_CURL_PERFORM(&s->x); /* the other workers run meanwhile */
    ASYNC_TIMEOUT_DISARM(&s->tmo);
    if (async_timeout_expired(&s->tmo)) {
        snprintf(s->why_buf, sizeof s->why_buf, "timed out after %g s", sh->opt.timeout);
        s->why = s->why_buf;
        ASYNC_RETURN(1);
    }
    s->why = crawl_verdict(s->x.easy, s->x.code, s->x.error, &s->page, &sh->opt, s->why_buf,
                           sizeof s->why_buf);
    if (s->why) ASYNC_RETURN(1);
    fprintf(stderr, "Got response [%ld] for URL: %s (%s)\n", s->x.status, s->url,
            crawl_http_version(s->x.easy));
    curl_easy_getinfo(s->x.easy, CURLINFO_EFFECTIVE_URL, &final);
    if (crawl_links(&s->links, s->url, final ? final : s->url, s->page.body) != 0) {
        s->why = "out of memory";
        ASYNC_RETURN(1);
    }
    ASYNC_TO_THREAD(&sh->writer, &s->job, write_lines, s);
    if (s->job.result != 0) {
        s->why = "cannot write the output file";
        ASYNC_RETURN(1);
    }
    fprintf(stderr, "Found %zu links for %s\n", s->links.count, s->url);
    ASYNC_FINALLY;
    if (s->why) fprintf(stderr, "Error for %s: %s\n", s->url, s->why);
    async_curl_transfer_free(&s->x);
    crawl_page_free(&s->page);
    crawl_links_free(&s->links);
    ASYNC_END;
}

/* Takes the next URL until none is left. */
static int worker(async_task *task, void *arg) {
    struct worker *w = (struct worker *)arg;
    ASYNC_BEGIN(task, w);
    while (w->sh->next < w->sh->nurls) {
        memset(&w->f, 0, sizeof w->f);
        w->f.sh = w->sh;
        w->f.url = w->sh->urls[w->sh->next++];
        ASYNC_AWAIT(fetch, &w->f);
        w->sh->failed += ASYNC_RESULT(&w->f) != 0;
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct shared sh;
    struct worker *workers;
    async_task *tasks;
    async_loop loop;
    size_t n, i;
    int ok, rc = crawl_args(argc, argv, &sh.opt);
    if (rc) return rc;
    if (crawl_read_urls(sh.opt.in, &sh.urls, &sh.nurls) != 0) {
        perror(sh.opt.in);
        return 2;
    }
    sh.out = fopen(sh.opt.out, "w");
    if (!sh.out) {
        perror(sh.opt.out);
        crawl_free_urls(sh.urls, sh.nurls);
        return 2;
    }
    if (sh.nurls == 0) fprintf(stderr, "areq: no URLs in %s\n", sh.opt.in);
    n = sh.nurls < (size_t)sh.opt.concurrency ? sh.nurls : (size_t)sh.opt.concurrency;
    workers = (struct worker *)calloc(n ? n : 1, sizeof *workers);
    tasks = (async_task *)calloc(n ? n : 1, sizeof *tasks);
    async_loop_init(&loop, 0);
    if (!workers || !tasks || async_curl_init(&sh.web, &loop) != CURLM_OK ||
        async_pool_start(&sh.writer, 1) != ASYNC_OK) {
        fprintf(stderr, "areq: out of memory or threads\n");
        async_curl_cleanup(&sh.web);
        fclose(sh.out);
        free(tasks);
        free(workers);
        crawl_free_urls(sh.urls, sh.nurls);
        return 1;
    }
    for (i = 0; i < n; i++) {
        workers[i].sh = &sh;
        async_spawn(&loop, &tasks[i], worker, &workers[i]);
    }
    async_run(&loop);
    async_pool_stop(&sh.writer);
    async_curl_cleanup(&sh.web);
    async_loop_close(&loop);
    fprintf(stderr, "%zu URLs, %zu fetched, %zu failed; links in %s\n", sh.nurls,
            sh.nurls - sh.failed, sh.failed, sh.opt.out);
    /* a failed write (a full disk) shows in the stream's error flag or fclose */
    ok = !ferror(sh.out);
    ok = fclose(sh.out) == 0 && ok;
    if (!ok) perror(sh.opt.out);
    free(tasks);
    free(workers);
    crawl_free_urls(sh.urls, sh.nurls);
    return ok && sh.failed == 0 ? 0 : 1;
}
