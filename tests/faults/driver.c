/* driver.c - the fault-injection scenarios over many seeds (`make faults`).
 *
 *   driver [-s echo|http|pool|all] [-n SEEDS] [-f FIRST] [-p ONE_IN]
 *          [-P short|lost] [-S] [-u] [-t HANG_SECONDS] [-q] [-x MAX_FAILURES]
 *
 *   -n  seeds per scenario (default 1000), from seed FIRST (default 0)
 *   -p  a fault strikes about one call in ONE_IN (default 8; 0: no faults)
 *   -P  plant a bug in the fault layer (short: a short write claimed
 *       complete; lost: a lost wake-up); the run is then expected to fail
 *   -S  no faults; each seed runs plainly, then again under a 1 kHz SIGALRM
 *       storm (handler without SA_RESTART): the results must be identical
 *   -u  also faults beyond the kernel's contract (fcntl EINTR; fault.h)
 *   -t  the in-loop watchdog's limit per run (default 5 s)
 *   -q  no async_dump when a run hangs
 *   -x  stop a scenario after this many failed seeds (default 10; 0: never)
 *
 * Prints, per scenario, the seeds run and failed, the outcomes of the
 * clients / pages / jobs, and the faults injected by kind.  Exit status 1 if
 * any seed failed.  A failed seed is reproduced with -f SEED -n 1.
 * Compiled once per I/O backend (epoll, -DASYNC_POLL) and coroutine backend
 * (switch, -DASYNC_LABELS) by mk/faults.mk. */
#include "fault.h" /* first: it defines ASYNC_SYSCALL for async.h */
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ASYNC_POLL
#define FX_IO "poll"
#else
#define FX_IO "epoll"
#endif
#if defined(ASYNC_LABELS) && ASYNC_LABELS
#define FX_CO "labels"
#else
#define FX_CO "switch"
#endif

static void usage(void) {
    fprintf(stderr, "usage: driver [-s echo|http|pool|all] [-n SEEDS] [-f FIRST] [-p ONE_IN]\n"
                    "              [-P short|lost] [-S] [-u] [-t HANG_SECONDS] [-q] [-x MAX_FAILURES]\n");
    exit(2);
}

int main(int argc, char **argv) {
    fx_opts o;
    long n = 1000, max_fail = 10, failed = 0;
    uint64_t first = 0;
    int only = -1, storm = 0, i, sc;
    unsigned long counts[FK_COUNT];
    memset(&o, 0, sizeof o);
    o.one_in = 8;
    o.hang_s = 5;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-S")) {
            storm = 1;
        } else if (!strcmp(a, "-q")) {
            o.quiet = 1;
        } else if (!strcmp(a, "-u")) {
            o.beyond = 1;
        } else if (!v) {
            usage();
        } else if (!strcmp(a, "-s")) {
            for (only = -1, sc = 0; sc < FX_NSCEN; sc++)
                if (!strcmp(v, fx_scenario_names[sc])) only = sc;
            if (only < 0 && strcmp(v, "all")) usage();
            i++;
        } else if (!strcmp(a, "-n")) {
            n = atol(v), i++;
        } else if (!strcmp(a, "-f")) {
            first = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "-p")) {
            o.one_in = (unsigned)atoi(v), i++;
        } else if (!strcmp(a, "-t")) {
            o.hang_s = atof(v), i++;
        } else if (!strcmp(a, "-x")) {
            max_fail = atol(v), i++;
        } else if (!strcmp(a, "-P")) {
            if (!strcmp(v, "short"))
                o.plant = FAULT_PLANT_SHORT_WRITE;
            else if (!strcmp(v, "lost"))
                o.plant = FAULT_PLANT_LOST_WAKEUP;
            else
                usage();
            i++;
        } else {
            usage();
        }
    }
    if (storm) o.one_in = 0, o.plant = FAULT_PLANT_NONE;
    printf("faults [%s, %s]: %ld seeds per scenario from %llu, 1 call in %u faulted%s%s%s\n", FX_IO,
           FX_CO, n, (unsigned long long)first, o.one_in, o.beyond ? " (fcntl too)" : "",
           o.plant == FAULT_PLANT_SHORT_WRITE  ? ", PLANTED short write"
           : o.plant == FAULT_PLANT_LOST_WAKEUP ? ", PLANTED lost wake-up"
                                                : "",
           storm ? ", SIGALRM storm at 1 kHz" : "");
    fflush(stdout);
    fx_hard_start();
    for (sc = 0; sc < FX_NSCEN; sc++) {
        fx_result t;
        double t0 = fx_now();
        if (only >= 0 && sc != only) continue;
        fx_result_init(&t);
        if (storm)
            failed += fx_storm_compare(sc, first, n, &o, &t);
        else
            failed += fx_run_seeds(sc, first, n, &o, &t, max_fail, 0);
        printf("  %-5s %6ld seeds %4ld failed  %7ld ok %6ld errored %3ld bad  %ld hangs %ld fd leaks"
               "  %5ld setup retries  %6.1f s\n",
               fx_scenario_names[sc], t.seeds, t.failed, t.ok, t.errored, t.bad, t.hangs, t.leaks,
               t.retries, fx_now() - t0);
        if (t.first_failed >= 0)
            printf("        first failure: seed %ld: %s\n        reproduce: %s -s %s -f %ld -n 1 -p %u%s%s%s\n",
                   t.first_failed, t.why, argv[0], fx_scenario_names[sc], t.first_failed, o.one_in,
                   o.beyond ? " -u" : "",
                   o.plant == FAULT_PLANT_SHORT_WRITE    ? " -P short"
                   : o.plant == FAULT_PLANT_LOST_WAKEUP ? " -P lost"
                                                        : "",
                   storm ? " -S" : "");
        fflush(stdout);
    }
    fx_hard_stop();
    if (storm) {
        unsigned long eintr[FC_COUNT];
        fault_real_eintr(eintr);
        printf("  SIGALRM signals delivered: %ld; system calls of async.h they interrupted:",
               (long)fx_storm_signals);
        for (i = 0; i < FC_COUNT; i++)
            if (eintr[i]) printf(" %s %lu", fault_call_names[i], eintr[i]);
        printf("\n");
    }
    fault_counts(counts);
    for (sc = 0, i = 0; i < FK_COUNT; i++) sc += counts[i] != 0;
    printf("  faults injected:%s\n", sc ? "" : " none");
    for (i = 0; i < FK_COUNT; i++)
        if (counts[i]) printf("    %-40s %9lu\n", fault_kind_names[i], counts[i]);
    printf("faults [%s, %s]: %s\n", FX_IO, FX_CO, failed ? "FAILED" : "all seeds passed");
    return failed ? 1 : 0;
}
