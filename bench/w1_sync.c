/* W1 count, blocking baseline (what examples/countsync does): the three
 * sleeps happen one after another.  Usage: w1_sync [seconds]. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    struct timespec ts;
    int i;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    for (i = 0; i < 3; i++) {
        puts("One");
        nanosleep(&ts, NULL);
        puts("Two");
    }
    return 0;
}
