/* generators.c - the walkthrough's two plain-generator ideas, with
 * async.h's generators: a lazy line reader and an infinite sequence.
 *
 *   build/generators [FILE] [--limit N]
 *
 * Python:
 *     def lines(path):                     def integers():
 *         with open(path) as f:                i = 0
 *             for line in f:                   while True:
 *                 yield line                       yield i; i += 1
 *
 * The reader holds one line at a time, so it uses the same memory for a
 * 1 kB file as for a 100 GB one.  Its ASYNC_FINALLY closes the file however
 * the consumer stops (end of file, or closing it early).  The infinite
 * sequence never ends on its own: the consumer takes what it needs and
 * closes it. */
#include <stdio.h>
#include "async.h"
#include "common.h"

struct lines {
    async_frame frame;
    const char *path;
    FILE *f;
    char line[4096]; /* one line at a time (longer lines come in pieces) */
};

static int lines(async_task *task, void *arg) {
    struct lines *s = (struct lines *)arg;
    ASYNC_BEGIN(task, s);
    s->f = fopen(s->path, "r");
    if (!s->f) ASYNC_RETURN(-1);
    while (fgets(s->line, sizeof s->line, s->f)) ASYNC_YIELD_VALUE(s->line);
    ASYNC_FINALLY;
    if (s->f) fclose(s->f);
    s->f = NULL;
    ASYNC_END;
}

struct integers {
    async_frame frame;
    long i;
};

static int integers(async_task *task, void *arg) {
    struct integers *s = (struct integers *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0;; s->i++) ASYNC_YIELD_VALUE(s->i);
    ASYNC_END;
}

struct main_state {
    async_frame frame;
    struct lines reader;
    struct integers ints;
    long count, longest, limit;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    long len;
    ASYNC_BEGIN(task, s);
    if (s->reader.path) {
        async_gen_init(&s->reader);
        for (;;) {
            ASYNC_NEXT(lines, &s->reader);
            if (ASYNC_STATUS() != ASYNC_OK) break;
            len = (long)strlen((const char *)ASYNC_RESULT(&s->reader));
            if (len > s->longest) s->longest = len;
            if (s->count++ < 3) printf("line %ld: %s", s->count, (const char *)ASYNC_RESULT(&s->reader));
        }
        if (ASYNC_RESULT(&s->reader) == -1)
            printf("cannot open %s\n", s->reader.path);
        else
            printf("%s: %ld lines, the longest %ld bytes, read one line at a time\n",
                   s->reader.path, s->count, s->longest);
    }
    async_gen_init(&s->ints);
    printf("integers:");
    for (;;) {
        ASYNC_NEXT(integers, &s->ints);
        if (ASYNC_RESULT(&s->ints) >= s->limit) break;
        printf(" %ld", (long)ASYNC_RESULT(&s->ints));
    }
    ASYNC_GEN_CLOSE(integers, &s->ints); /* we are done with it */
    printf("\n");
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s;
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-') s.reader.path = argv[i];
    }
    s.limit = ex_option(argc, argv, "--limit", 10);
    return async_main(main_coro, &s, ASYNC_VIRTUAL) == ASYNC_OK ? 0 : 1;
}
