/* W5 timer accuracy, the kernel's floor: a plain blocking 1 ms
 * clock_nanosleep, n times.  No event loop can wake earlier than this, so it
 * shows how much of every loop's oversleep is the OS (timer slack, wake-up
 * latency).  Usage: w5_sync [n]. */
#include "bench.h"

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000), i;
    struct timespec ms1 = {0, 1000000};
    double *over = calloc((size_t)n, sizeof *over), med, p99;
    uint64_t t;
    if (!over) return 1;
    for (i = 0; i < n; i++) {
        t = bench_now_ns();
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ms1, NULL);
        over[i] = (double)(int64_t)(bench_now_ns() - t) / 1e3 - 1000.0;
    }
    med = bench_percentile(over, (size_t)n, 500);
    p99 = bench_percentile(over, (size_t)n, 990);
    printf("RESULT n=%ld median_us=%.1f p99_us=%.1f max_us=%.1f\n", n, med, p99,
           over[n - 1]);
    return 0;
}
