/* W1 count, async.h: three tasks each print One, sleep, print Two, so the
 * whole program takes one sleep, not three.  Usage: w1_async [seconds].
 * Timed from outside (hyperfine, bench/rusage), so it prints no RESULT. */
#include <stdio.h>
#include <stdlib.h>
#include "async.h"

static double seconds = 1.0;

struct count { async_frame frame; };

static int count(async_task *task, void *arg) {
    struct count *s = (struct count *)arg;
    ASYNC_BEGIN(task, s);
    puts("One");
    ASYNC_SLEEP(seconds);
    puts("Two");
    ASYNC_END;
}

int main(int argc, char **argv) {
    static async_loop loop;
    static async_task tasks[3];
    static struct count states[3];
    int i;
    if (argc > 1) seconds = atof(argv[1]);
    async_loop_init(&loop, 0);
    for (i = 0; i < 3; i++) async_spawn(&loop, &tasks[i], count, &states[i]);
    return async_run(&loop) == ASYNC_OK ? 0 : 1;
}
