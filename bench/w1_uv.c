/* W1 count, libuv: a count is "print One, arm a timer"; the timer callback
 * prints Two.  Usage: w1_uv [seconds]. */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static void two(uv_timer_t *t) {
    (void)t;
    puts("Two");
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    uv_loop_t *loop = uv_default_loop();
    static uv_timer_t timers[3];
    int i;
    for (i = 0; i < 3; i++) {
        puts("One");
        uv_timer_init(loop, &timers[i]);
        uv_timer_start(&timers[i], two, (uint64_t)(seconds * 1000 + 0.5), 0);
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
