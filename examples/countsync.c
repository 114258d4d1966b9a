/* countsync.c - the asyncio tutorial's synchronous counter, for comparison.
 *
 *   build/countsync            three blocking 1 s sleeps: about 3 seconds
 *   build/countsync --virtual  the same output, with simulated time, at once
 *
 * count() prints One, blocks for a second, prints Two.  Called three times
 * in a row, nothing else can happen while it sleeps, so the program takes
 * 3 s.  Compare countasync.c, where the three counts overlap. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

static int virtual_time; /* --virtual: pretend to sleep */
static double virtual_now;

static double now(void) {
    struct timespec ts;
    if (virtual_time) return virtual_now;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void blocking_sleep(double seconds) {
    struct timespec ts;
    if (virtual_time) {
        virtual_now += seconds;
        return;
    }
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
    } /* resume after a signal */
}

static void count(void) {
    puts("One");
    fflush(stdout);
    blocking_sleep(1.0);
    puts("Two");
    fflush(stdout);
}

int main(int argc, char **argv) {
    double start;
    int i;
    virtual_time = argc > 1 && strcmp(argv[1], "--virtual") == 0;
    start = now();
    for (i = 0; i < 3; i++) count();
    printf("countsync executed in %.2f seconds.\n", now() - start);
    return 0;
}
