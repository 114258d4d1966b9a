/* chess.c - the simultaneous chess exhibition, simulated on the virtual
 * clock with real coroutines.
 *
 *   build/chess [-b BOARDS] [-m MOVE_PAIRS] [-M MASTER_SECS] [-o OPPONENT_SECS]
 *               [--trace FILE]
 *
 * A master plays 24 opponents, 30 move pairs a game; she needs 5 s a move,
 * each opponent 55 s.  One game at a time (synchronous) takes
 * 24 * 30 * (5 + 55) s = 12 hours.  Moving from board to board while the
 * opponents think (asynchronous) takes about one hour: her 5 s moves are the
 * only thing that cannot overlap.
 *
 * Both exhibitions run as coroutines.  The master and every opponent are
 * tasks; a board hands the turn back and forth through two events.  The
 * sleeps stand for thinking; on the virtual clock the whole 12-hour day is
 * simulated in an instant and the totals are exact.  --trace FILE writes the
 * asynchronous exhibition as a timeline (Chrome trace-event JSON, virtual
 * time): open it in https://ui.perfetto.dev and watch the master go from
 * board to board while every opponent thinks. */
#include <stdio.h>
#define ASYNC_TRACE 1 /* compile in async_trace_start (for --trace) */
#include "async.h"
#include "common.h"

enum { MAX_BOARDS = 256 };

struct config {
    int boards, pairs, master_secs, opponent_secs;
};

/* ---- the synchronous exhibition: one task plays the games one by one ---- */

struct sync_master {
    async_frame frame;
    const struct config *cfg;
    int board, pair;
};

static int sync_master(async_task *task, void *arg) {
    struct sync_master *s = (struct sync_master *)arg;
    ASYNC_BEGIN(task, s);
    for (s->board = 0; s->board < s->cfg->boards; s->board++)
        for (s->pair = 0; s->pair < s->cfg->pairs; s->pair++) {
            ASYNC_SLEEP(s->cfg->master_secs);   /* the master moves */
            ASYNC_SLEEP(s->cfg->opponent_secs); /* and waits for the reply */
        }
    ASYNC_END;
}

/* ---- the asynchronous exhibition ------------------------------------------- */

struct board {
    async_event master_turn, opponent_turn;
};

struct opponent {
    async_frame frame;
    const struct config *cfg;
    struct board *b;
    int pair;
};

static int opponent(async_task *task, void *arg) {
    struct opponent *s = (struct opponent *)arg;
    ASYNC_BEGIN(task, s);
    for (s->pair = 0; s->pair < s->cfg->pairs; s->pair++) {
        ASYNC_EVENT_WAIT(&s->b->opponent_turn);
        async_event_clear(&s->b->opponent_turn);
        ASYNC_SLEEP(s->cfg->opponent_secs); /* thinks while the master is away */
        async_event_set(&s->b->master_turn);
    }
    ASYNC_END;
}

struct async_master {
    async_frame frame;
    const struct config *cfg;
    struct board *boards;
    int board, pair;
};

static int async_master(async_task *task, void *arg) {
    struct async_master *s = (struct async_master *)arg;
    ASYNC_BEGIN(task, s);
    for (s->pair = 0; s->pair < s->cfg->pairs; s->pair++)
        for (s->board = 0; s->board < s->cfg->boards; s->board++) {
            ASYNC_EVENT_WAIT(&s->boards[s->board].master_turn); /* reply made? */
            async_event_clear(&s->boards[s->board].master_turn);
            ASYNC_SLEEP(s->cfg->master_secs);
            async_event_set(&s->boards[s->board].opponent_turn);
        }
    ASYNC_END;
}

static void print_total(const char *name, double secs) {
    long s = (long)(secs + 0.5);
    printf("%s exhibition: %ld s = %ld:%02ld:%02ld\n", name, s, s / 3600, s / 60 % 60, s % 60);
}

int main(int argc, char **argv) {
    static struct board boards[MAX_BOARDS];
    static struct opponent opponents[MAX_BOARDS];
    static async_task tasks[MAX_BOARDS + 1];
    static struct async_master am;
    static struct sync_master sm;
    static char names[MAX_BOARDS][24];
    const char *trace = ex_string(argc, argv, "--trace");
    struct config cfg;
    async_loop loop;
    int i;
    cfg.boards = (int)ex_option(argc, argv, "-b", 24);
    cfg.pairs = (int)ex_option(argc, argv, "-m", 30);
    cfg.master_secs = (int)ex_option(argc, argv, "-M", 5);
    cfg.opponent_secs = (int)ex_option(argc, argv, "-o", 55);
    if (cfg.boards < 1 || cfg.boards > MAX_BOARDS || cfg.pairs < 0 || cfg.master_secs < 0 ||
        cfg.opponent_secs < 0) {
        fprintf(stderr, "usage: chess [-b 1..%d] [-m PAIRS] [-M SECS] [-o SECS]\n", MAX_BOARDS);
        return 2;
    }
    printf("%d boards, %d move pairs, master %d s a move, opponents %d s a move\n", cfg.boards,
           cfg.pairs, cfg.master_secs, cfg.opponent_secs);

    async_loop_init(&loop, ASYNC_VIRTUAL);
    sm.cfg = &cfg;
    async_spawn(&loop, &tasks[0], sync_master, &sm);
    if (async_run(&loop) != ASYNC_OK) return 1;
    print_total("Synchronous", async_time(&loop));

    async_loop_init(&loop, ASYNC_VIRTUAL);
    if (trace && async_trace_start(&loop, trace) != ASYNC_OK) {
        perror(trace);
        return 2;
    }
    for (i = 0; i < cfg.boards; i++) {
        async_event_init(&boards[i].master_turn);
        async_event_init(&boards[i].opponent_turn);
        async_event_set(&boards[i].master_turn); /* the master opens every game */
        opponents[i].cfg = &cfg;
        opponents[i].b = &boards[i];
        snprintf(names[i], sizeof names[i], "opponent %d", i + 1);
        async_spawn_named(&loop, &tasks[i + 1], opponent, &opponents[i], names[i]);
    }
    am.cfg = &cfg;
    am.boards = boards;
    async_spawn_named(&loop, &tasks[0], async_master, &am, "master");
    if (async_run(&loop) != ASYNC_OK) return 1;
    print_total("Asynchronous", async_time(&loop));
    async_loop_close(&loop); /* also finishes the trace file */
    return 0;
}
