/* W3 spawn, async.h: spawn n trivial tasks, all queued before the loop runs,
 * then run the loop until every one has finished.  Pass 1 includes
 * allocating (calloc) and first touching the task storage, as every peer
 * must allocate its task objects; pass 2 respawns into the same, now warm,
 * storage and so shows the scheduler alone.  Usage: w3_async [n [huge]].
 *
 * `huge` (a diagnostic, not a peer): the same program with its storage in
 * transparent huge pages (madvise MADV_HUGEPAGE), so that the first touch
 * costs one fault per 2 MiB instead of one per 4 KiB: the difference
 * between the two cold figures is what the machine's page faults cost. */
#include "bench.h"
#include "async.h"

struct trivial { async_frame frame; };
static long done;

static int trivial(async_task *task, void *arg) {
    struct trivial *s = (struct trivial *)arg;
    ASYNC_BEGIN(task, s);
    done++;
    ASYNC_END;
}

static async_loop loop;
static async_task *tasks;
static struct trivial *states;

static uint64_t pass(long n, int huge) {
    uint64_t t0 = bench_now_ns();
    long i;
    if (!tasks) { /* first pass: the storage is part of the cost */
        tasks = (async_task *)bench_storage(n, sizeof *tasks, huge);
        states = (struct trivial *)bench_storage(n, sizeof *states, huge);
        if (!tasks || !states) exit(1);
    }
    for (i = 0; i < n; i++) async_spawn(&loop, &tasks[i], trivial, &states[i]);
    if (async_run(&loop) != ASYNC_OK) exit(1);
    return bench_now_ns() - t0;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000);
    int huge = argc > 2 && strcmp(argv[2], "huge") == 0;
    long rss0 = bench_peak_rss_kb(), rss1;
    uint64_t cold, warm;
    async_loop_init(&loop, 0);
    cold = pass(n, huge);
    rss1 = bench_peak_rss_kb();
    warm = pass(n, huge);
    if (done != 2 * n) return 1;
    printf("RESULT n=%ld ns_per_task=%.2f ns_per_task_warm=%.2f rss_mib=%.2f "
           "bytes_per_task=%.1f\n", n, (double)cold / (double)n,
           (double)warm / (double)n, (double)bench_peak_rss_kb() / 1024.0,
           (double)(rss1 - rss0) * 1024.0 / (double)n);
    return 0;
}
