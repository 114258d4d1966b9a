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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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
