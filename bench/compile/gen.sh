#!/bin/sh
# Writes a program of ten files that share one loop (part0.c .. part8.c and
# main.c) into DIR, for bench/compile_time.sh.  Each part has a producer and
# a consumer over a queue, a timeout and a gather: the macros a real file
# of a real program uses.  Usage: gen.sh DIR
set -e
dir=$1
mkdir -p "$dir"
i=0
while [ $i -lt 9 ]; do
cat > "$dir/part$i.c" <<C
#include <stdio.h>
#include "async.h"
#include "parts.h"

struct producer$i { async_frame frame; async_queue *q; int k; };
struct consumer$i { async_frame frame; async_queue *q; int item, sum; async_timeout t; };

static int producer$i(async_task *task, void *arg) {
    struct producer$i *s = (struct producer$i *)arg;
    ASYNC_BEGIN(task, s);
    for (s->k = 1; s->k <= 5; s->k++) {
        ASYNC_SLEEP_MS($i + 1);
        ASYNC_QUEUE_PUT(s->q, &s->k);
    }
    async_queue_close(s->q);
    ASYNC_END;
}

static int consumer$i(async_task *task, void *arg) {
    struct consumer$i *s = (struct consumer$i *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_WITH_TIMEOUT(&s->t, 1.0, ASYNC_QUEUE_GET(s->q, &s->item));
        if (ASYNC_STATUS() != ASYNC_OK) break;
        s->sum += s->item;
    }
    ASYNC_RETURN(s->sum);
    ASYNC_END;
}

struct part$i {
    async_frame frame;
    async_queue q;
    int slots[2];
    struct producer$i p;
    struct consumer$i c;
    async_task tasks[2], *tp[2];
    async_gather g;
    intptr_t results[2];
};

int part$i(async_task *task, void *arg) {
    struct part$i *s = (struct part$i *)arg;
    ASYNC_BEGIN(task, s);
    async_queue_init(&s->q, s->slots, 2, sizeof(int));
    s->p.q = s->c.q = &s->q;
    async_spawn(ASYNC_LOOP(), &s->tasks[0], producer$i, &s->p);
    async_spawn(ASYNC_LOOP(), &s->tasks[1], consumer$i, &s->c);
    s->tp[0] = &s->tasks[0];
    s->tp[1] = &s->tasks[1];
    ASYNC_GATHER(&s->g, s->tp, 2, s->results);
    ASYNC_RETURN(s->results[1]);
    ASYNC_END;
}
size_t part${i}_size(void) { return sizeof(struct part$i); }
C
i=$((i + 1))
done
{
    echo "/* parts.h: the ten files' coroutines */"
    echo "#include <stddef.h>"
    i=0
    while [ $i -lt 9 ]; do
        echo "int part$i(async_task *task, void *arg); size_t part${i}_size(void);"
        i=$((i + 1))
    done
} > "$dir/parts.h"
cat > "$dir/main.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "async.h"
#include "parts.h"

static int (*const parts[9])(async_task *, void *) = {part0, part1, part2, part3, part4,
                                                       part5, part6, part7, part8};
static size_t (*const sizes[9])(void) = {part0_size, part1_size, part2_size, part3_size,
                                         part4_size, part5_size, part6_size, part7_size,
                                         part8_size};

int main(void) {
    async_loop loop;
    async_task tasks[9];
    void *states[9];
    long sum = 0;
    int i;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    for (i = 0; i < 9; i++) {
        states[i] = calloc(1, sizes[i]());
        async_spawn(&loop, &tasks[i], parts[i], states[i]);
    }
    async_run(&loop);
    for (i = 0; i < 9; i++) {
        sum += (long)async_task_result(&tasks[i]);
        free(states[i]);
    }
    printf("%ld\n", sum);
    return sum == 9 * 15 ? 0 : 1;
}
C
echo '#define ASYNC_IMPLEMENTATION' > "$dir/async_impl.c"
echo '#include "async.h"' >> "$dir/async_impl.c"
