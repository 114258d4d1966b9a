/* countasync.c - the asyncio tutorial's asynchronous counter.
 *
 *   build/countasync            One One One, a second, Two Two Two: ~1 s
 *   build/countasync --virtual  the same output, with simulated time, at once
 *   build/countasync --trace t.json   also write a timeline of the tasks:
 *                               open t.json in https://ui.perfetto.dev
 *
 * Python:
 *     async def count():
 *         print("One"); await asyncio.sleep(1); print("Two")
 *     async def main():
 *         await asyncio.gather(count(), count(), count())
 *
 * Here each count() is a task.  While one sleeps, the loop runs the others,
 * so the three sleeps overlap and the program takes 1 s, not 3.  With no
 * task ready, the loop blocks in one system call until the earliest timer:
 * it uses almost no CPU while waiting. */
#include <stdio.h>
#include <string.h>
#define ASYNC_TRACE 1 /* compile in async_trace_start (for --trace) */
#include "async.h"
#include "common.h"

/* count() needs no state of its own, but every coroutine has a frame. */
struct count { async_frame frame; };

static int count(async_task *task, void *arg) {
    struct count *s = (struct count *)arg;
    ASYNC_BEGIN(task, s);
    puts("One");
    fflush(stdout);
    ASYNC_SLEEP(1.0);
    puts("Two");
    fflush(stdout);
    ASYNC_END;
}

/* main() spawns three counts and gathers them: the state holds what must
 * survive its own suspension (the tasks, their states, the gather). */
struct main_state {
    async_frame frame;
    async_task tasks[3];
    struct count counts[3];
    async_task *all[3];
    async_gather gather;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 3; i++) {
        static const char *const names[3] = {"count 1", "count 2", "count 3"};
        async_spawn_named(ASYNC_LOOP(), &s->tasks[i], count, &s->counts[i], names[i]);
        s->all[i] = &s->tasks[i];
    }
    ASYNC_GATHER(&s->gather, s->all, 3, NULL);
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s; /* static storage starts zeroed, as tasks must */
    static async_task main_task;
    const char *trace = ex_string(argc, argv, "--trace");
    async_loop loop;
    double start;
    int rc;
    async_loop_init(&loop, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    if (trace && async_trace_start(&loop, trace) != ASYNC_OK) {
        perror(trace);
        return 2;
    }
    start = async_time(&loop);
    async_spawn_named(&loop, &main_task, main_coro, &s, "main");
    rc = async_run(&loop);
    printf("countasync executed in %.2f seconds.\n", async_time(&loop) - start);
    async_loop_close(&loop); /* also finishes the trace file */
    return rc == ASYNC_OK ? 0 : 1;
}
