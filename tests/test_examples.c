/* The examples, run as a user would: their output in --virtual mode (order
 * and values), and, in real time with generous bounds, that countasync
 * overlaps its sleeps and that an idle loop does not burn CPU. */
#include "helpers.h" /* first: it sets the feature macros */
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

/* Where `make` put the example binaries (the sanitizer build sets this). */
static const char *example_dir(void) {
    const char *d = getenv("ASYNC_EXAMPLES");
    return d && *d ? d : "build";
}

/* Runs an example with arguments and returns its whole stdout. */
static char *run_example(const char *name, const char *args) {
    static char out[65536];
    char cmd[512];
    size_t n = 0, got;
    FILE *p;
    snprintf(cmd, sizeof cmd, "%s/%s %s", example_dir(), name, args);
    p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    while ((got = fread(out + n, 1, sizeof out - 1 - n, p)) > 0) n += got;
    out[n] = 0;
    cr_assert_eq(pclose(p), 0, "%s failed; output:\n%s", cmd, out);
    return out;
}

Test(examples, countasync_virtual_prints_one_one_one_two_two_two_in_1s) {
    cr_assert_str_eq(run_example("countasync", "--virtual"),
                     "One\nOne\nOne\nTwo\nTwo\nTwo\ncountasync executed in 1.00 seconds.\n");
}

Test(examples, countsync_virtual_takes_3s) {
    cr_assert_str_eq(run_example("countsync", "--virtual"),
                     "One\nTwo\nOne\nTwo\nOne\nTwo\ncountsync executed in 3.00 seconds.\n");
}

Test(examples, countasync_real_time_overlaps_its_sleeps, .timeout = 20) {
    double t0 = now_s(), took, reported;
    const char *out = run_example("countasync", "");
    const char *line = strstr(out, "executed in ");
    took = now_s() - t0;
    cr_assert_not_null(line, "output: %s", out);
    cr_assert_eq(strncmp(out, "One\nOne\nOne\nTwo\nTwo\nTwo\n", 24), 0, "output: %s", out);
    reported = strtod(line + 12, NULL);
    cr_assert_geq(reported, 1.0, "slept less than 1 s: %.3f", reported);
    cr_assert_lt(reported, 1.5, "three 1 s sleeps took %.3f s", reported);
    /* the whole process, start-up included (generous for valgrind) */
    cr_assert_lt(took, getenv("ASYNC_VALGRIND") ? 6.0 : 1.5, "process took %.3f s", took);
}

Test(examples, hello_says_hello_world, .timeout = 20) {
    cr_assert_str_eq(run_example("hello", ""), "Hello ...\n... World!\n");
}

typedef struct {
    async_frame frame;
    int64_t ns;
} nap;
static int nap_fn(async_task *task, void *arg) {
    nap *s = (nap *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->ns);
    ASYNC_END;
}

Test(realtime, sleeping_200ms_uses_almost_no_cpu, .timeout = 20) {
    static async_loop loop;
    static async_task t;
    static nap n;
    double c0, w0, cpu, wall;
    async_loop_init(&loop, 0);
    n.ns = 200 * (int64_t)MS;
    async_spawn(&loop, &t, nap_fn, &n);
    c0 = cpu_s();
    w0 = now_s();
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cpu = cpu_s() - c0;
    wall = now_s() - w0;
    cr_assert_geq(wall, 0.2, "woke early: %.6f s", wall);
    cr_assert_lt(wall, 0.3, "woke late: %.6f s", wall);
    cr_assert_lt(cpu, 0.020, "loop burned %.1f ms of CPU while idle", cpu * 1e3);
}

Test(realtime, sleeps_never_end_early_and_overlap, .timeout = 20) {
    static async_loop loop;
    static async_task t[10];
    static nap n[10];
    double w0, wall;
    int i;
    async_loop_init(&loop, 0);
    for (i = 0; i < 10; i++) {
        n[i].ns = (int64_t)(i + 1) * 10 * (int64_t)MS;
        async_spawn(&loop, &t[i], nap_fn, &n[i]);
    }
    w0 = now_s();
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    wall = now_s() - w0;
    cr_assert_geq(wall, 0.100);
    cr_assert_lt(wall, 0.200, "ten overlapping sleeps of up to 100 ms took %.3f s", wall);
}

/* ---- the walkthrough's examples, in virtual time ------------------------------ */

Test(examples, rand_rolls_until_each_threshold_is_beaten) {
    char *out = strdup(run_example("rand", "--virtual"));
    const char *last = strstr(out, "r1: ");
    long r1, r2, r3;
    cr_assert_not_null(last, "output: %s", out);
    cr_assert_eq(sscanf(last, "r1: %ld, r2: %ld, r3: %ld", &r1, &r2, &r3), 3);
    cr_assert_eq(r1, 10, "makerandom(0) needs more than 9");
    cr_assert(r2 >= 9 && r2 <= 10);
    cr_assert(r3 >= 8 && r3 <= 10);
    cr_assert_not_null(strstr(out, "\033[36mInitiated makerandom(0)."));
    cr_assert_not_null(strstr(out, "\033[91mInitiated makerandom(1)."));
    cr_assert_not_null(strstr(out, "\033[35mInitiated makerandom(2)."));
    cr_assert_str_neq(out, run_example("rand", "--virtual --seed 7"), "--seed changes the rolls");
    free(out);
}

/* chained: each chain takes the sum of its two sleeps; the program, the
 * longest chain. */
Test(examples, chained_chains_overlap_and_time_adds_up) {
    char *out = run_example("chained", "--virtual 4 5 6 7");
    int secs1[8] = {0}, secs2[8] = {0}, n, s, chains = 0;
    double took, finished = -1, longest = 0;
    char *line;
    for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (sscanf(line, "part1(%d) sleeping for %d seconds.", &n, &s) == 2) secs1[n] = s;
        else if (sscanf(line, "part2(%d, '%*[^']') sleeping for %d seconds.", &n, &s) == 2) secs2[n] = s;
        else if (strncmp(line, "-->Chained result", 17) == 0) {
            cr_assert_eq(sscanf(line, "-->Chained result%d", &n), 1);
            took = strtod(strstr(line, "took ") + 5, NULL);
            cr_assert_eq((int)(took + 0.5), secs1[n] + secs2[n], "chain %d: %s", n, line);
            cr_assert_not_null(strstr(line, "derived from result"), "%s", line);
            if (took > longest) longest = took;
            chains++;
        } else if (sscanf(line, "Program finished in %lf seconds.", &finished) == 1) {
        }
    }
    cr_assert_eq(chains, 4);
    cr_assert_float_eq(finished, longest, 1e-9, "the program takes as long as its longest chain");
}

/* queue: every item added is got exactly once, nothing waits forever. */
Test(examples, queue_consumes_everything_produced) {
    char *out = run_example("queue", "--virtual -p 5 -c 10");
    static char added[256][16], got[256][16];
    int na = 0, ng = 0, i, j, p, c;
    char item[16];
    double lat;
    char *line;
    for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (sscanf(line, "Producer %d added <%10[0-9a-f]> to queue.", &p, item) == 2)
            strcpy(added[na++], item);
        else if (sscanf(line, "Consumer %d got element <%10[0-9a-f]> in %lf seconds.", &c, item, &lat) == 3) {
            cr_assert_geq(lat, 0.0);
            strcpy(got[ng++], item);
        }
    }
    cr_assert_gt(na, 0, "nothing produced");
    cr_assert_eq(na, ng, "%d added, %d got", na, ng);
    for (i = 0; i < na; i++) {
        int found = 0;
        for (j = 0; j < ng; j++) found += strcmp(added[i], got[j]) == 0;
        cr_assert_eq(found, 1, "item %s consumed %d times", added[i], found);
    }
}

/* examples/split: three files sharing one loop, async.h compiled once. */
Test(examples, split_kitchen_serves_every_order_in_time_order) {
    cr_assert_str_eq(run_example("split", "--virtual"),
                     "table 1 orders dish 1\n"
                     "table 2 orders dish 1\n"
                     "table 1 orders dish 2\n"
                     "table 3 orders dish 1\n"
                     "  Ada serves table 1 dish 1\n"
                     "table 2 orders dish 2\n"
                     "  Brian serves table 2 dish 1\n"
                     "table 3 orders dish 2\n"
                     "  Ada serves table 1 dish 2\n"
                     "  Brian serves table 3 dish 1\n"
                     "  Ada serves table 2 dish 2\n"
                     "  Brian serves table 3 dish 2\n"
                     "Ada cooked 3, Brian cooked 3\n");
}

Test(examples, mygen_prints_both_lists) {
    cr_assert_str_eq(run_example("mygen", "--virtual"),
                     "[1, 2, 4, 8, 16, 32, 64, 128, 256, 512]\n[1, 2, 16, 32, 256, 512]\n");
}

Test(examples, as_completed_in_completion_order_gather_in_argument_order) {
    cr_assert_str_eq(run_example("as_completed", "--virtual"),
                     "Start: 0.00 s\n"
                     "res: [1, 2, 3] completed at 3.00 s\n"
                     "res: [0, 5, 10] completed at 10.00 s\n"
                     "End: 10.00 s\n"
                     "Both tasks done: True\n"
                     "gather: [[1, 2, 3], [0, 5, 10]]\n");
}

Test(examples, chess_twelve_hours_against_about_one) {
    const char *out = run_example("chess", "");
    const char *a = strstr(out, "Asynchronous exhibition: ");
    long secs;
    cr_assert_not_null(strstr(out, "Synchronous exhibition: 43200 s = 12:00:00\n"), "%s", out);
    cr_assert_not_null(a, "%s", out);
    secs = strtol(a + 25, NULL, 10);
    cr_assert(secs >= 3600 && secs <= 3660, "asynchronous total %ld s", secs);
    out = run_example("chess", "-b 2 -m 3 -M 1 -o 10");
    cr_assert_not_null(strstr(out, "Synchronous exhibition: 66 s"), "%s", out);
}

Test(examples, generators_read_lazily_and_stop_an_infinite_sequence) {
    char path[] = "/tmp/async-lines-XXXXXX";
    char args[64];
    const char *out;
    int fd = mkstemp(path), i;
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    for (i = 0; i < 100000; i++) fprintf(f, "line number %d\n", i);
    fclose(f);
    snprintf(args, sizeof args, "%s --limit 4", path);
    out = run_example("generators", args);
    remove(path);
    cr_assert_not_null(strstr(out, "line 1: line number 0\n"), "%s", out);
    cr_assert_not_null(strstr(out, ": 100000 lines, the longest 18 bytes"), "%s", out);
    cr_assert_not_null(strstr(out, "integers: 0 1 2 3\n"), "%s", out);
}

Test(examples, timeouts_cut_off_the_slow_downloads) {
    cr_assert_str_eq(run_example("timeouts", "--virtual"),
                     "0.00  fast: connecting\n"
                     "0.00  slow: connecting\n"
                     "0.00  slower: connecting\n"
                     "1.00  fast: received\n"
                     "1.00  fast: connection closed\n"
                     "1.00  fast: done, 100 kB\n"
                     "2.50  slow: connection closed\n"
                     "2.50  slow: timed out\n"
                     "2.50  slower: connection closed\n"
                     "2.50  slower: timed out\n"
                     "1.00  queue get: timed out\n"
                     "queue still empty: yes, waiters left: none\n");
}

Test(examples, cancel_runs_the_cleanup_once) {
    cr_assert_str_eq(run_example("cancel", "--virtual"),
                     "0.00  worker: got the resource\n"
                     "0.50  worker: job 1 done\n"
                     "1.00  worker: job 2 done\n"
                     "1.50  worker: job 3 done\n"
                     "1.60  main: cancelling the worker\n"
                     "1.60  worker: cancelled after 3 jobs\n"
                     "1.60  worker: resource released\n"
                     "1.60  other: got the resource\n"
                     "1.60  main: worker cancelled (status: cancelled)\n");
}

/* ---- sockets (areq and areq_sync are tested in tests/curl/: they need libcurl) */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_loopback(int *port) {
    struct sockaddr_in a;
    int fd = bind_loopback(SOCK_STREAM, &a);
    *port = ntohs(a.sin_port);
    return fd;
}

Test(examples, echo_server_and_client_verify_every_byte, .timeout = 30) {
    char cmd[256], args[64];
    int port;
    struct timespec ts = {0, 300 * 1000 * 1000};
    close(listen_loopback(&port));
    snprintf(cmd, sizeof cmd, "%s/echo_server -p %d -n 200 >/dev/null &", example_dir(), port);
    cr_assert_eq(system(cmd), 0);
    nanosleep(&ts, NULL);
    snprintf(args, sizeof args, "-p %d -c 200 -k 64", port);
    cr_assert_str_eq(run_example("echo_client", args),
                     "200 of 200 connections echoed 65536 bytes each, every byte checked\n");
}

Test(examples, to_thread_keeps_the_ticker_going, .timeout = 30) {
    const char *out = run_example("to_thread", "");
    const char *done = strstr(out, "checksum = ");
    int ticks = 0;
    const char *p;
    cr_assert_not_null(done, "%s", out);
    for (p = out; (p = strstr(p, "ticker: tick")) != NULL && p < done; p++) ticks++;
    cr_assert_geq(ticks, 3, "the ticker stopped while the worker blocked:\n%s", out);
}

/* ---- --trace: Chrome trace-event JSON --------------------------------- */

static char *slurp(const char *path) {
    static char buf[1 << 20];
    size_t n;
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no trace written at %s", path);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* Runs an example with `args` and `--trace PATH` (a fresh temporary file,
 * its name left in path); returns the example's output. */
static const char *run_traced(const char *name, const char *args, char path[24]) {
    char all[128];
    int fd;
    strcpy(path, "/tmp/async-trace-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    snprintf(all, sizeof all, "%s --trace %s", args, path);
    return run_example(name, all);
}

static int count_of(const char *s, const char *sub) {
    int n = 0;
    while ((s = strstr(s, sub)) != NULL) n++, s++;
    return n;
}

Test(examples, countasync_trace_shows_three_overlapping_sleeps) {
    char path[24];
    const char *j;
    cr_assert_str_eq(run_traced("countasync", "--virtual", path),
                     "One\nOne\nOne\nTwo\nTwo\nTwo\ncountasync executed in 1.00 seconds.\n");
    j = slurp(path);
    cr_assert(strncmp(j, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", 38) == 0, "%.80s", j);
    cr_assert_not_null(strstr(j, "\n]}\n"), "the trace is closed");
    cr_assert_eq(count_of(j, "\"thread_name\""), 4, "main and three counts: %s", j);
    cr_assert_not_null(strstr(j, "\"args\":{\"name\":\"count 3\"}"));
    /* each count opens one sleep at 0 us and closes it at 1 s of virtual time */
    cr_assert_eq(count_of(j, "\"name\":\"ASYNC_SLEEP\",\"args\":{\"at\":\"examples/countasync.c:"), 3, "%s", j);
    cr_assert_eq(count_of(j, "\"ph\":\"B\""), count_of(j, "\"ph\":\"E\""), "every wait is closed");
    cr_assert_eq(count_of(j, "\"ph\":\"E\",\"pid\":1,\"tid\":"), 4);
    cr_assert_eq(count_of(j, "\"ts\":1000000.000}"), 4, "three sleeps and the gather end at 1 s: %s", j);
    cr_assert_eq(count_of(j, "\"name\":\"run, finished\""), 4);
    unlink(path);
}

Test(examples, chess_trace_has_a_row_per_player) {
    char path[24];
    const char *j;
    cr_assert_not_null(strstr(run_traced("chess", "-b 3 -m 2", path), "Asynchronous exhibition: 130 s"));
    j = slurp(path);
    cr_assert_eq(count_of(j, "\"thread_name\""), 4, "a master and 3 opponents");
    cr_assert_not_null(strstr(j, "{\"name\":\"opponent 3\"}"));
    cr_assert_not_null(strstr(j, "{\"name\":\"master\"}"));
    cr_assert_eq(count_of(j, "\"ph\":\"B\""), count_of(j, "\"ph\":\"E\""));
    /* the opponents' first 55 s thinks start 5 s apart (one master move
     * each) and end at 60, 65 and 70 s: they overlap */
    cr_assert_geq(count_of(j, "\"ts\":60000000.000}"), 1, "%s", j);
    cr_assert_geq(count_of(j, "\"ts\":65000000.000}"), 1);
    cr_assert_geq(count_of(j, "\"ts\":70000000.000}"), 1);
    unlink(path);
}

Test(examples, stuck_dumps_who_waits_on_what) {
    const char *out = run_example("stuck", "");
    cr_assert_not_null(strstr(out, "async_run: tasks remain that nothing can wake (deadlock)\n"), "%s", out);
    cr_assert_not_null(strstr(out, ": 3 pending tasks, 0 timers, time 0.300000 s (virtual)\n"), "%s", out);
    cr_assert_not_null(strstr(out, "\n  \"main\" waiting in main_coro at examples/stuck.c:"), "%s", out);
    cr_assert_not_null(strstr(out, ": ASYNC_QUEUE_GET on queue 0x"), "%s", out);
    cr_assert_not_null(strstr(out, " (0 of 4 items, 1 getters, 0 putters)\n"), "%s", out);
    cr_assert_eq(count_of(out, ": ASYNC_EVENT_WAIT on event 0x"), 2, "%s", out);
    cr_assert_null(strstr(out, "ticker"), "a finished task is not listed: %s", out);
}
