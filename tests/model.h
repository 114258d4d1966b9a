/* tests/model.h - model-based randomized testing of async.h.
 *
 * A case is a handful of task "programs": lists of operations (sleep, yield,
 * spawn, cancel, await a task, queue put/get/close, event set/clear/wait,
 * semaphore acquire/release, timeouts around waits, child coroutines awaited
 * plainly, shielded or under ASYNC_WAIT_FOR, early return; the child driven
 * as a generator with ASYNC_NEXT / ASYNC_GEN_CLOSE, yielding values from its
 * body or its cleanup, with timeouts armed across its yields; a queue
 * destroyed and initialised again, which async.h must refuse while anything
 * depends on it); ASYNC_GATHER over the other tasks, plainly or under a
 * timeout, which must cancel what is left and return only once every one
 * has finished); task groups: each frame owns an async_group that
 * GROUP_SPAWN fills and GROUP_WAIT waits for, plainly or under a timeout,
 * with members that fail (a negative result: RETURN -1..-3, or the end of
 * the body of a task in an odd slot) and so cancel the others; a frame
 * whose group still has members pending at the end of its finally section
 * waits for them there, like leaving `async with TaskGroup()` (a generator
 * abandoned at a yield never gets there: its frame's next run takes the
 * group over as it is)).  And the primitives of 0.5, which only show their
 * orders when tasks meet on them: a lock (acquire, release; a task that
 * ends holding it gives it back) and two conditions over it, waited on
 * plainly or with ASYNC_COND_WAIT_FOR (the lock taken first unless held,
 * so that waits happen at all), notified one, two or all, with the lock
 * (`async with cond`: notified waiters then queue behind the notifier) or
 * without it (as a callback may); two barriers of one to three parties,
 * waited on, aborted and reset; queues that are FIFO, LIFO or stable
 * priority queues (a case gives each queue its kind, so every queue op
 * runs on all three); the unbounded intrusive queue (put, get, try_get,
 * close); a future (awaited, set a result or an error, cancelled,
 * destroyed and initialised again, done callbacks added and removed);
 * ASYNC_WAIT_TASKS over the other tasks with each return_when, plainly or
 * under a timeout.  Since those ops need a partner (a notify for a wait,
 * the other parties, a put for a get, a setter for an await), a case
 * favours one family of them (model_focus).  One coroutine,
 * model_fn, interprets a program (its op index lives in its state struct);
 * each task runs it on ONE virtual-time loop, and every observable step is
 * recorded in a trace: each time a task runs, how each operation ended
 * (ASYNC_STATUS(), the item a get received, a task's result, a barrier's
 * arrival index, which tasks a WAIT_TASKS found done), finally sections,
 * task ends, done callbacks run.
 *
 * Beside it runs a plain reference model (ordinary C, no coroutines): its
 * own ready FIFO, its own timer list sorted by deadline with ties in
 * insertion order (done callbacks are timers due now, as async_call_soon
 * makes them), its own waiter FIFOs for queues, events, semaphores,
 * groups, awaited tasks, the lock, conditions, barriers, the unbounded
 * queue's getters and the future (where a group's member, and each task a
 * WAIT_TASKS watches, stands as a waiter node whose callback runs inside
 * the task's finish, in list order among the tasks woken there; a done
 * callback stands among the future's waiting tasks), and its own
 * bookkeeping of shields, timeouts, grants, groups and the cooperative
 * budget (ASYNC_BUDGET waits per step).  It follows async.h's hand-over
 * rules rather than re-deriving them: a notified waiter is moved onto the
 * lock's wait list unless the lock is free ("wait morphing") and holds the
 * lock whenever its wait ends, a barrier's waiter cut short takes a party
 * off the count when it runs, a queue's item handed to a woken getter is
 * kept for it.  It predicts the trace.  In the stepped mode the loop is
 * advanced one pass at a
 * time (async_step, virtual time advanced as async_run does) and after each
 * pass the traces are compared and the loop's state is compared with the
 * model's (ready queue order, timer order, every wait list in order, queue
 * contents in the order gets would take them and reservations, semaphore
 * values, the lock's value, hand-overs and owner, barriers' counts and
 * broken flags, the future's state, done callbacks waiting or scheduled,
 * what each WAIT_TASKS saw, groups' members, pending counts and failures,
 * task states and results).
 * In the run mode the loop runs under async_run and the whole traces are
 * compared.  Either way, structural invariants of the library are checked
 * every time a task resumes and after every pass:
 *   - every spawned task finishes exactly once (one end of its finally per
 *     incarnation, loop->ntasks and the task list agree) or stays pending;
 *   - no queue item is lost or duplicated, in any kind of queue (the
 *     unbounded one too): items put = items got + items still in the
 *     queue (closing drops nothing; gets drain);
 *   - the lock is exactly one of free, handed to a woken task, or owned;
 *     no barrier counts as many parties as it has, nor has waiters while
 *     broken;
 *   - the timer heap is a complete binary tree, parent links are right and
 *     no node is before its parent (deadline, then start sequence);
 *   - every pending task is in exactly one place (the ready queue, the heap,
 *     one wait list) or running; no finished task is linked anywhere, has
 *     waiters or armed timeouts; a group's or WAIT_TASKS' node is only
 *     among the waiters of its own task, a done callback only on a future;
 *   - a group's pending count is the number of its members' nodes still
 *     among their tasks' waiters, its failure is a member's negative
 *     result, and nobody waits on a group with nothing pending.
 * When the loop's trace or state differs from the model's, the run stops and
 * reports the pass, the first differing event with its context; the
 * harness then shrinks the case (drops tasks, sections, ops, simplifies
 * arguments) while it still diverges and prints the remainder, readably and
 * as bytes for tests/fuzz_model.c.
 *
 * A case comes from bytes (model_case_decode: every byte string is a valid
 * case, so it doubles as the libFuzzer input format) or from a seed.
 * Everything here is static and prefixed model_; include it once per program.
 */
#ifndef MODEL_H
#define MODEL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* async.h's misuse checks, caught where an op expects one (RECYCLE): the
 * check is the first thing the call does, so a jump out of it leaves the
 * object as it was.  Anywhere else a check that fires aborts, as usual. */
#ifdef ASYNC_H
#error "include tests/model.h before async.h"
#endif
static jmp_buf *model_catch;
static void model_assert_hit(const char *msg) {
    if (model_catch) longjmp(*model_catch, 1);
    fprintf(stderr, "async.h: %s\n", msg);
    abort();
}
#define ASYNC_ASSERT(c, msg) ((c) ? (void)0 : model_assert_hit(msg))
#define ASYNC_ASSERT_TASK(c, msg, task) ((c) ? (void)0 : model_assert_hit(msg))
#include "async.h"

#define MODEL_NT 6        /* task slots */
#define MODEL_NQ 2        /* queues */
#define MODEL_NE 2        /* events */
#define MODEL_NS 2        /* semaphores */
#define MODEL_DEPTH 2     /* task frame + one child coroutine */
#define MODEL_MAXOPS 8    /* ops per program section */
#define MODEL_QCAPMAX 3
#define MODEL_MAXSPAWN 3  /* spawns of one slot per run (bounds respawn chains) */
#define MODEL_MAXEV 8192
#define MODEL_MAXITEMS 4096
#define MODEL_MAXSTEPS 20000
#define MODEL_SECOND ((uint64_t)1000000000u)
#define MODEL_NC 2        /* conditions, both over the one lock (so that waiters
                             notified on either queue for the same lock) */
#define MODEL_NB 2        /* barriers */
#define MODEL_NF 1        /* futures (one: its waiters meet) */
#define MODEL_LQMAX 256   /* items in the unbounded queue (a put beyond: skipped) */
#define MODEL_NSCOPE (MODEL_NT * MODEL_DEPTH * 4) /* timeouts: tmo[2], wtmo[2] per frame */
/* timers: sleeping tasks, timeouts, and each slot's done callback once scheduled */
#define MODEL_TCB(k) (MODEL_NT + MODEL_NSCOPE + (k))
#define MODEL_NTIMER (MODEL_NT + MODEL_NSCOPE + MODEL_NT)
/* wait lists: getters and putters per queue, events, semaphores, tasks */
#define MODEL_LGET(q) (q)
#define MODEL_LPUT(q) (MODEL_NQ + (q))
#define MODEL_LEV(e) (2 * MODEL_NQ + (e))
#define MODEL_LSEM(s) (2 * MODEL_NQ + MODEL_NE + (s))
#define MODEL_LTASK(k) (2 * MODEL_NQ + MODEL_NE + MODEL_NS + (k))
/* ...and the task in GROUP_WAIT on the group of frame (k, d) */
#define MODEL_LGRP(k, d) (2 * MODEL_NQ + MODEL_NE + MODEL_NS + MODEL_NT + (k) * MODEL_DEPTH + (d))
/* ...conditions, the lock, barriers, the unbounded queue's getters,
 * futures (tasks and done callbacks), the task in WAIT_TASKS of frame (k, d) */
#define MODEL_LCOND(c) (MODEL_LGRP(MODEL_NT, 0) + (c))
#define MODEL_LLOCK MODEL_LCOND(MODEL_NC)
#define MODEL_LBAR(b) (MODEL_LLOCK + 1 + (b))
#define MODEL_LLQ MODEL_LBAR(MODEL_NB)
#define MODEL_LFUT(f) (MODEL_LLQ + 1 + (f))
#define MODEL_LWS(k, d) (MODEL_LFUT(MODEL_NF) + (k) * MODEL_DEPTH + (d))
#define MODEL_NL MODEL_LWS(MODEL_NT, 0)
/* A task's waiters: the other tasks (or their WAIT_TASKS nodes), one group
 * node; a future's: every task and every slot's done callback. */
#define MODEL_LCAP (2 * MODEL_NT + 2)
/* Groups: one per (slot, depth) frame, with room for MODEL_NT members in
 * even slots and 2 in odd ones (so that some fill up: ENOSPC).  In wait
 * lists, member i of the group of frame (k, d) is node id MODEL_WID(k, d, i). */
#define MODEL_GCAP(k) ((k) % 2 ? 2 : MODEL_NT)
#define MODEL_WBASE 2000
#define MODEL_WID(k, d, i) (MODEL_WBASE + ((k) * MODEL_DEPTH + (d)) * MODEL_NT + (i))
/* Other nodes in wait lists: the async_waiter of WAIT_TASKS in frame (k, d)
 * for its i-th task (among that task's waiters), and slot k's done callback
 * (among a future's waiters). */
#define MODEL_XBASE 3000
#define MODEL_XID(k, d, i) (MODEL_XBASE + ((k) * MODEL_DEPTH + (d)) * MODEL_NT + (i))
#define MODEL_CBBASE 4000
#define MODEL_CBID(k) (MODEL_CBBASE + (k))
static inline int model_is_gnode(int id) { return id >= MODEL_WBASE && id < MODEL_XBASE; }
static inline int model_is_xnode(int id) { return id >= MODEL_XBASE && id < MODEL_CBBASE; }

/* Operations.  The waits (model_takes_tmo) may run under a timeout
 * (ASYNC_WITH_TIMEOUT, op.tmo = 1 + seconds). */
enum {
    MODEL_NOP = 0,
    MODEL_YIELD, MODEL_SLEEP, MODEL_AWAIT, MODEL_PUT, MODEL_GET, MODEL_EWAIT,
    MODEL_SACQ,
    MODEL_SPAWN, MODEL_CANCEL, MODEL_TRYPUT, MODEL_TRYGET, MODEL_CLOSE,
    MODEL_ESET, MODEL_ECLEAR, MODEL_SREL, MODEL_STRY, MODEL_ARM, MODEL_DISARM,
    MODEL_RET, MODEL_CALL, MODEL_WAITFOR,
    MODEL_NEXT,    /* the task frame drives the child as a generator */
    MODEL_YIELDV,  /* the child yields a value (at depth 0: a yield) */
    MODEL_GCLOSE,  /* close the generator suspended at a yield */
    MODEL_RECYCLE, /* async_queue_destroy + async_queue_init */
    MODEL_GATHER,  /* ASYNC_GATHER over every other task ever spawned */
    MODEL_GSPAWN,  /* async_group_spawn of slot a into this frame's group */
    MODEL_GWAIT,   /* ASYNC_GROUP_WAIT on this frame's group */
    /* the primitives of 0.5 (picked by another byte: model_sel_kind) */
    MODEL_LACQ,    /* ASYNC_LOCK_ACQUIRE (skipped if this task holds it) */
    MODEL_LREL,    /* ASYNC_LOCK_RELEASE (skipped unless this task holds it) */
    MODEL_CWAIT,   /* the lock (taken first if not held), ASYNC_COND_WAIT on
                      model_cond_of(a), the lock given back if it was taken here */
    MODEL_CWAITFOR, /* the same with ASYNC_COND_WAIT_FOR: until d % 3 more notifies */
    MODEL_CNOTIFY, /* async_condition_notify(model_cond_of(a), 1 + d % 2), with the
                      lock as COND_WAIT takes it if a >= 4 */
    MODEL_CNOTIFYALL,
    MODEL_BWAIT, MODEL_BABORT, MODEL_BRESET,        /* barrier b(a) */
    MODEL_LQPUT, MODEL_LQGET, MODEL_LQTRY, MODEL_LQCLOSE, /* the unbounded queue */
    MODEL_FAWAIT, MODEL_FSET, MODEL_FERR, MODEL_FCANCEL, /* future f(a) */
    MODEL_FRENEW,  /* async_future_destroy + async_future_init */
    MODEL_FCB,     /* this slot's done callback onto f(a) */
    MODEL_FCBREM,  /* async_done_callback_remove of this slot's callback */
    MODEL_WAITT,   /* ASYNC_WAIT_TASKS over every other task ever spawned, return_when
                      FIRST_COMPLETED + a */
    MODEL_NKINDS
};

/* kind; a: the object (task slot, queue, event, semaphore, timeout slot),
 * or for CALL 1 = shielded, for RET the value (model_ret_value: 0..4, or
 * -1..-3, a failure for a group); d: seconds (SLEEP, ARM, WAITFOR); tmo: 0,
 * or 1 + the seconds of a timeout around a wait. */
typedef struct { uint8_t kind, a, d, tmo; } model_op;

typedef struct {
    uint8_t ntasks;                /* slots in use, 1..MODEL_NT */
    uint8_t ninit;                 /* spawned by the driver at the start */
    uint8_t qcap[MODEL_NQ];
    uint8_t qkind[MODEL_NQ];       /* MODEL_QFIFO, _QLIFO, _QPRIO */
    uint8_t sem0[MODEL_NS];
    uint8_t bparties[MODEL_NB];    /* 1..3 */
    uint8_t run_mode;              /* 0: stepped, 1: async_run */
    uint8_t nops[MODEL_NT][MODEL_DEPTH][2];          /* [slot][depth][body/finally] */
    model_op ops[MODEL_NT][MODEL_DEPTH][2][MODEL_MAXOPS];
} model_case;

/* Deliberate faults, to show that the checker notices (tests only). */
typedef struct {
    int mutate_event;  /* >= 0: alter the model's event with this index */
    int model_bug;     /* MODEL_BUG_* */
} model_opts;
enum { MODEL_BUG_NONE = 0, MODEL_BUG_LIFO_TIES, MODEL_BUG_EVENT_ORDER, MODEL_BUG_BARGE,
       MODEL_BUG_REWAIT,     /* a waiter woken by a finish waits again for a respawn */
       MODEL_BUG_GEN_SCOPE,  /* a generator's timeouts stay live across its yields */
       MODEL_BUG_GEN_SHIELD, /* a yield from a finally keeps the shield up */
       MODEL_BUG_RECYCLE,    /* a queue with an item handed over may be destroyed */
       MODEL_BUG_GATHER_EARLY, /* an interrupted gather returns before its tasks end */
       MODEL_BUG_RUN_CANCELLED, /* a task cancelled before its first step runs it */
       MODEL_BUG_GROUP_EARLY, /* an interrupted group wait returns before its members end */
       MODEL_BUG_GROUP_NO_CANCEL, /* a member's failure cancels no other member */
       MODEL_BUG_GROUP_LATE_NOTIFY, /* a finish wakes its awaiting tasks before its groups */
       MODEL_BUG_COND_LIFO,     /* a notify wakes the newest condition waiter first */
       MODEL_BUG_COND_UNLOCKED, /* a condition wait cut short returns without the lock */
       MODEL_BUG_BARRIER_EARLY, /* a barrier lets its waiters go one party early */
       MODEL_BUG_LIFO_OLDEST,   /* a LIFO queue hands out its oldest item */
       MODEL_BUG_PRIO_UNSTABLE, /* a priority queue hands out equal keys newest first */
       MODEL_BUG_LQUEUE_LIFO,   /* the unbounded queue hands out its newest item */
       MODEL_BUG_FUTURE_REVERSE, /* a future wakes its waiters newest first */
       MODEL_BUG_WAIT_ALL,      /* FIRST_COMPLETED waits for all the tasks */
       MODEL_BUG_COND_LOST,     /* a notified waiter cut short keeps the notify */
       MODEL_BUG_BAR_STALE      /* a waiter let go by abort/reset, cut short,
                                 * leaves the next round too (async.h 0.5) */ };
enum { MODEL_QFIFO = 0, MODEL_QLIFO, MODEL_QPRIO };

/* Op outcomes beside async.h's codes. */
#define MODEL_SKIP 100  /* op not applicable (e.g. await of a never-spawned task) */
#define MODEL_BUSY 101  /* spawn of a task still pending */
#define MODEL_MISUSE 102 /* async.h's misuse check fired (and changed nothing) */
#define MODEL_AGAIN 1000
#define MODEL_UNWIND 1001

enum { MODEL_EV_RESUME = 1, MODEL_EV_OP, MODEL_EV_FIN, MODEL_EV_END, MODEL_EV_KILL,
       MODEL_EV_DEADLOCK,
       MODEL_EV_CB /* a done callback runs (task: its slot, a: the future) */ };

typedef struct {
    uint64_t time;
    int32_t a, b, c, d, e, f; /* OP: index, kind, status, value, expired, aux */
    uint8_t type, task, depth, sec;
} model_ev;

typedef struct {
    int diverged;
    long step;      /* loop pass (stepped mode), -1: whole run */
    int event;      /* first differing event, -1: state or invariant */
    int nevents;
    long steps;
    char msg[6144];
} model_result;

/* ==========================================================================
 * Cases: bytes <-> case, seeds, printing
 * ========================================================================== */

static inline int model_maxops(int depth, int sec) {
    return depth == 0 ? (sec == 0 ? MODEL_MAXOPS : 3) : (sec == 0 ? 4 : 2);
}

/* One ASYNC__WAIT of async.h (a start, then a resume after each wake-up). */
static inline int model_is_wait(int kind) {
    return (kind >= MODEL_YIELD && kind <= MODEL_SACQ) || kind == MODEL_LACQ ||
           kind == MODEL_BWAIT || kind == MODEL_LQGET || kind == MODEL_FAWAIT ||
           kind == MODEL_WAITT;
}
static inline int model_is_wait_cond(int kind) {
    return kind == MODEL_CWAIT || kind == MODEL_CWAITFOR;
}
/* Ops on a condition that take the lock unless the task holds it (and give
 * it back after): the waits, and notifies with a >= 4 (`async with cond:
 * cond.notify()`; the others notify without it, as a callback may). */
static inline int model_is_locked(int kind, int a) {
    return model_is_wait_cond(kind) ||
           ((kind == MODEL_CNOTIFY || kind == MODEL_CNOTIFYALL) && a >= 4);
}
/* The condition an op names: c1 for one op in four, so that most meet on
 * c0, while waiters of both still queue for the one lock. */
static inline int model_cond_of(const model_op *op) { return op->a % 4 == 3 ? MODEL_NC - 1 : 0; }
/* Ops that may run under ASYNC_WITH_TIMEOUT (op.tmo). */
static inline int model_takes_tmo(int kind, int a) {
    return model_is_wait(kind) || model_is_locked(kind, a) || kind == MODEL_GATHER ||
           kind == MODEL_GWAIT;
}

/* RETURN's value: 0..4, or a failure (-1..-3) for a group it is a member of. */
static inline int model_ret_value(int a) { return a <= 4 ? a : 4 - a; }

/* The range of op.a for a kind (0: unused). */
static inline int model_arange(int kind, int ntasks) {
    switch (kind) {
    case MODEL_AWAIT: case MODEL_SPAWN: case MODEL_CANCEL: case MODEL_GSPAWN: return ntasks;
    case MODEL_PUT: case MODEL_GET: case MODEL_TRYPUT: case MODEL_TRYGET: case MODEL_CLOSE:
        return MODEL_NQ;
    case MODEL_EWAIT: case MODEL_ESET: case MODEL_ECLEAR: return MODEL_NE;
    case MODEL_SACQ: case MODEL_SREL: case MODEL_STRY: return MODEL_NS;
    case MODEL_ARM: case MODEL_DISARM: case MODEL_CALL: return 2;
    case MODEL_RET: return 8;
    case MODEL_RECYCLE: return MODEL_NQ;
    case MODEL_CWAIT: case MODEL_CWAITFOR: return 4;       /* model_cond_of */
    case MODEL_CNOTIFY: case MODEL_CNOTIFYALL: return 8;   /* ...and 4..7: with the lock */
    case MODEL_BWAIT: case MODEL_BABORT: case MODEL_BRESET: return MODEL_NB;
    case MODEL_FAWAIT: case MODEL_FSET: case MODEL_FERR: case MODEL_FCANCEL: case MODEL_FRENEW:
    case MODEL_FCB:
        return MODEL_NF;
    case MODEL_WAITT: return 3;
    default: return 0;
    }
}
static inline int model_uses_d(int kind) {
    return kind == MODEL_SLEEP || kind == MODEL_ARM || kind == MODEL_WAITFOR ||
           kind == MODEL_CWAITFOR || kind == MODEL_CNOTIFY || kind == MODEL_FERR;
}

/* Op kinds by weight; a byte picks one (the group ops come from another
 * byte: model_sel_kind). */
static inline int model_kind_table(int i, int *n) {
    static const unsigned char t[] = {
        MODEL_YIELD, MODEL_YIELD, MODEL_SLEEP, MODEL_SLEEP, MODEL_SLEEP, MODEL_SLEEP,
        MODEL_AWAIT, MODEL_AWAIT, MODEL_PUT, MODEL_PUT, MODEL_PUT, MODEL_GET,
        MODEL_GET, MODEL_GET, MODEL_EWAIT, MODEL_EWAIT, MODEL_SACQ, MODEL_SACQ,
        MODEL_SPAWN, MODEL_SPAWN, MODEL_SPAWN, MODEL_CANCEL, MODEL_CANCEL,
        MODEL_TRYPUT, MODEL_TRYGET, MODEL_CLOSE, MODEL_ESET, MODEL_ESET,
        MODEL_ECLEAR, MODEL_SREL, MODEL_SREL, MODEL_STRY, MODEL_ARM, MODEL_DISARM,
        MODEL_RET, MODEL_CALL, MODEL_CALL, MODEL_WAITFOR, MODEL_WAITFOR,
        MODEL_NEXT, MODEL_NEXT, MODEL_NEXT, MODEL_YIELDV, MODEL_YIELDV, MODEL_YIELDV,
        MODEL_GCLOSE, MODEL_RECYCLE, MODEL_GATHER, MODEL_GATHER};
    *n = (int)sizeof t;
    return t[i];
}

/* The primitives of 0.5 by weight, in families: the lock and conditions,
 * barriers, the unbounded queue, futures, WAIT_TASKS (waits weigh more:
 * they are where the orders are).  family < 0: all of them. */
#define MODEL_NFAMILY 5
static inline int model_kind_table2(int family, int i, int *n) {
    static const unsigned char t[] = {
        MODEL_LACQ, MODEL_LREL, MODEL_CWAIT, MODEL_CWAIT, MODEL_CWAIT, MODEL_CWAIT,
        MODEL_CWAITFOR, MODEL_CWAITFOR, MODEL_CNOTIFY, MODEL_CNOTIFY, MODEL_CNOTIFY,
        MODEL_CNOTIFY, MODEL_CNOTIFYALL, MODEL_CNOTIFYALL, /* 14 */
        MODEL_BWAIT, MODEL_BWAIT, MODEL_BWAIT, MODEL_BWAIT, MODEL_BABORT, MODEL_BRESET, /* 20 */
        MODEL_LQPUT, MODEL_LQPUT, MODEL_LQPUT, MODEL_LQGET, MODEL_LQGET, MODEL_LQGET,
        MODEL_LQTRY, MODEL_LQCLOSE, /* 28 */
        MODEL_FAWAIT, MODEL_FAWAIT, MODEL_FAWAIT, MODEL_FSET, MODEL_FSET, MODEL_FERR,
        MODEL_FCANCEL, MODEL_FRENEW, MODEL_FRENEW, MODEL_FCB, MODEL_FCB, MODEL_FCBREM, /* 40 */
        MODEL_WAITT, MODEL_WAITT, MODEL_WAITT};
    static const unsigned char from[MODEL_NFAMILY + 1] = {0, 14, 20, 28, 40, sizeof t};
    int lo = family < 0 ? 0 : from[family], hi = family < 0 ? (int)sizeof t : from[family + 1];
    *n = hi - lo;
    return t[lo + i];
}

/* The group ops and those of 0.5 are picked by the high bits of an op's
 * fourth byte (the low three give its timeout): 10 to 13 make it
 * GROUP_SPAWN, 14 GROUP_WAIT, 15 to 20 one of model_kind_table2;
 * anything else leaves the kind the first byte picked from
 * model_kind_table.  So a seed's case from before keeps most of its ops
 * (the planted-bug tests keep their budgets), and every byte string is
 * still a case.  Those of 0.5 need a partner to show anything (a notify
 * for a wait, parties at a barrier, a put for a get, a setter for an
 * await), so a case has a focus (a family, or none: MODEL_NFAMILY) that
 * three first bytes in four pick from; the fourth picks from them all. */
#define MODEL_GSEL_SPAWN 10u /* to 13 */
#define MODEL_GSEL_WAIT 14u
#define MODEL_GSEL_NEW 15u   /* to 20 */
/* A case's focus: conditions and futures (whose partners meet least
 * often) twice as often as the others. */
static inline int model_focus(unsigned b) {
    static const unsigned char f[8] = {0, 0, 1, 2, 3, 3, 4, MODEL_NFAMILY};
    return f[b % 8];
}
#define MODEL_GSEL_NNEW 6u
static inline int model_sel_kind(unsigned b0, unsigned b3, int focus) {
    unsigned sel = (b3 >> 3) & 31u;
    int n;
    if (sel == MODEL_GSEL_WAIT) return MODEL_GWAIT;
    if (sel >= MODEL_GSEL_SPAWN && sel < MODEL_GSEL_WAIT) return MODEL_GSPAWN;
    if (sel < MODEL_GSEL_NEW || sel >= MODEL_GSEL_NEW + MODEL_GSEL_NNEW) return 0;
    if (b0 % 4 == 0 || focus >= MODEL_NFAMILY) focus = -1;
    model_kind_table2(focus, 0, &n);
    return model_kind_table2(focus, (int)(b0 / 4 % (unsigned)n), &n);
}
static inline int model_is_new_kind(int kind) { return kind >= MODEL_LACQ && kind < MODEL_NKINDS; }

/* A barrier's parties: 1 lets every waiter through at once, so it is rarer. */
static inline uint8_t model_parties(unsigned i) {
    static const uint8_t p[4] = {2, 3, 1, 2};
    return p[i % 4];
}

typedef struct { const uint8_t *p; size_t n, i; } model_rd;
static inline unsigned model_rd_byte(model_rd *r) { return r->i < r->n ? r->p[r->i++] : 0u; }

/* Bytes to a case.  Any byte string is valid; missing bytes read as 0. */
static inline void model_case_decode(model_case *c, const uint8_t *data, size_t size) {
    model_rd r;
    int k, d, s, i, n, ntab, focus;
    r.p = data;
    r.n = size;
    r.i = 0;
    memset(c, 0, sizeof *c);
    c->ntasks = (uint8_t)(1 + model_rd_byte(&r) % MODEL_NT);
    c->ninit = (uint8_t)(1 + model_rd_byte(&r) % c->ntasks);
    /* a queue's kind and a barrier's parties ride on the bytes of the
     * capacities and semaphores (the rest of a case does not move) */
    for (i = 0; i < MODEL_NQ; i++) {
        unsigned b = model_rd_byte(&r);
        c->qcap[i] = (uint8_t)(1 + b % MODEL_QCAPMAX);
        c->qkind[i] = (uint8_t)(b / MODEL_QCAPMAX % 3);
    }
    for (i = 0; i < MODEL_NS; i++) {
        unsigned b = model_rd_byte(&r);
        c->sem0[i] = (uint8_t)(b % 3);
        if (i < MODEL_NB) c->bparties[i] = model_parties(b / 3 % 4);
    }
    for (i = MODEL_NS; i < MODEL_NB; i++) c->bparties[i] = 2;
    n = (int)model_rd_byte(&r);
    c->run_mode = (uint8_t)(n % 4 == 3);
    focus = model_focus((unsigned)n / 4);
    model_kind_table(0, &ntab);
    for (k = 0; k < c->ntasks; k++)
        for (d = 0; d < MODEL_DEPTH; d++)
            for (s = 0; s < 2; s++) {
                n = (int)(model_rd_byte(&r) % (unsigned)(model_maxops(d, s) + 1));
                c->nops[k][d][s] = (uint8_t)n;
                for (i = 0; i < n; i++) {
                    model_op *op = &c->ops[k][d][s][i];
                    unsigned b0 = model_rd_byte(&r), b1 = model_rd_byte(&r);
                    unsigned b2 = model_rd_byte(&r), b3 = model_rd_byte(&r);
                    int range = model_sel_kind(b0, b3, focus);
                    op->kind = (uint8_t)(range ? range
                                               : model_kind_table((int)(b0 % (unsigned)ntab), &ntab));
                    range = model_arange(op->kind, c->ntasks);
                    op->a = (uint8_t)(range ? b1 % (unsigned)range : 0);
                    if (op->kind == MODEL_GSPAWN && b1 % (2u * c->ntasks) >= c->ntasks &&
                        c->ninit < c->ntasks) /* half of them: a slot not spawned at the start */
                        op->a = (uint8_t)(c->ninit + b1 % (unsigned)(c->ntasks - c->ninit));
                    op->d = (uint8_t)(model_uses_d(op->kind) ? b2 % 5 : 0);
                    op->tmo = (uint8_t)(model_takes_tmo(op->kind, op->a) && b3 % 8 >= 5 ? b3 % 8 - 4 : 0);
                }
            }
}

/* A case to bytes that decode to it again (for reproductions). */
static inline size_t model_case_encode(const model_case *c, uint8_t *buf, size_t cap) {
    size_t n = 0;
    int k, d, s, i, j, ntab, ntab2;
#define MODEL__PUT(v) do { if (n < cap) buf[n] = (uint8_t)(v); n++; } while (0)
    MODEL__PUT(c->ntasks - 1);
    MODEL__PUT(c->ninit - 1);
    for (i = 0; i < MODEL_NQ; i++) MODEL__PUT(c->qcap[i] - 1 + MODEL_QCAPMAX * c->qkind[i]);
    for (i = 0; i < MODEL_NS; i++) {
        for (j = 0; i < MODEL_NB && j < 3 && model_parties(j) != c->bparties[i]; j++) {
        }
        MODEL__PUT(c->sem0[i] + (i < MODEL_NB ? 3 * j : 0));
    }
    MODEL__PUT(c->run_mode ? 3 : 0);
    model_kind_table(0, &ntab);
    model_kind_table2(-1, 0, &ntab2);
    for (k = 0; k < c->ntasks; k++)
        for (d = 0; d < MODEL_DEPTH; d++)
            for (s = 0; s < 2; s++) {
                MODEL__PUT(c->nops[k][d][s]);
                for (i = 0; i < c->nops[k][d][s]; i++) {
                    const model_op *op = &c->ops[k][d][s][i];
                    unsigned sel = op->kind == MODEL_GSPAWN          ? MODEL_GSEL_SPAWN
                                   : op->kind == MODEL_GWAIT         ? MODEL_GSEL_WAIT
                                   : model_is_new_kind(op->kind) ? MODEL_GSEL_NEW
                                                                     : 0u;
                    if (sel == MODEL_GSEL_NEW) /* 0 mod 4: from them all, whatever the focus */
                        for (j = 0; j < ntab2 && model_kind_table2(-1, j, &ntab2) != op->kind; j++) {
                        }
                    else
                        for (j = 0; !sel && j < ntab && model_kind_table(j, &ntab) != op->kind; j++) {
                        }
                    MODEL__PUT(sel == MODEL_GSEL_NEW ? 4 * j : sel ? 0 : j);
                    MODEL__PUT(op->a);
                    MODEL__PUT(op->d);
                    MODEL__PUT((sel << 3) | (op->tmo ? op->tmo + 4u : 0u));
                }
            }
#undef MODEL__PUT
    return n;
}

/* A seed to a case: pseudo-random bytes (splitmix64), decoded. */
static inline void model_case_from_seed(model_case *c, uint64_t seed) {
    uint8_t bytes[512];
    uint64_t z = seed;
    size_t i;
    for (i = 0; i < sizeof bytes; i += 8) {
        uint64_t v;
        int j;
        z += 0x9E3779B97F4A7C15ull;
        v = z;
        v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
        v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
        v ^= v >> 31;
        for (j = 0; j < 8; j++) bytes[i + (size_t)j] = (uint8_t)(v >> (8 * j));
    }
    model_case_decode(c, bytes, sizeof bytes);
}

static inline const char *model_kind_name(int kind) {
    static const char *const names[] = {
        "NOP", "YIELD", "SLEEP", "AWAIT", "PUT", "GET", "EVENT_WAIT", "SEM_ACQUIRE",
        "SPAWN", "CANCEL", "TRY_PUT", "TRY_GET", "CLOSE", "EVENT_SET", "EVENT_CLEAR",
        "SEM_RELEASE", "SEM_TRY", "TIMEOUT_ARM", "TIMEOUT_DISARM", "RETURN", "CALL",
        "WAIT_FOR", "NEXT", "YIELD_VALUE", "GEN_CLOSE", "RECYCLE", "GATHER", "GROUP_SPAWN",
        "GROUP_WAIT", "LOCK_ACQUIRE", "LOCK_RELEASE", "COND_WAIT", "COND_WAIT_FOR",
        "COND_NOTIFY", "COND_NOTIFY_ALL", "BARRIER_WAIT", "BARRIER_ABORT", "BARRIER_RESET",
        "LQUEUE_PUT", "LQUEUE_GET", "LQUEUE_TRY_GET", "LQUEUE_CLOSE", "FUTURE_AWAIT",
        "FUTURE_SET_RESULT", "FUTURE_SET_ERROR", "FUTURE_CANCEL", "FUTURE_RENEW",
        "FUTURE_ADD_DONE_CALLBACK", "DONE_CALLBACK_REMOVE", "WAIT_TASKS"};
    return kind >= 0 && kind < MODEL_NKINDS ? names[kind] : "?";
}

static inline int model_op_format(char *buf, size_t n, const model_op *op) {
    int w;
    const char *k = model_kind_name(op->kind);
    switch (op->kind) {
    case MODEL_SLEEP: w = snprintf(buf, n, "%s %ds", k, op->d); break;
    case MODEL_AWAIT: case MODEL_SPAWN: case MODEL_CANCEL: case MODEL_GSPAWN:
        w = snprintf(buf, n, "%s t%d", k, op->a); break;
    case MODEL_PUT: case MODEL_GET: case MODEL_TRYPUT: case MODEL_TRYGET: case MODEL_CLOSE:
    case MODEL_RECYCLE:
        w = snprintf(buf, n, "%s q%d", k, op->a); break;
    case MODEL_NEXT: case MODEL_GCLOSE: w = snprintf(buf, n, "%s child", k); break;
    case MODEL_GATHER: w = snprintf(buf, n, "%s others", k); break;
    case MODEL_EWAIT: case MODEL_ESET: case MODEL_ECLEAR:
        w = snprintf(buf, n, "%s e%d", k, op->a); break;
    case MODEL_SACQ: case MODEL_SREL: case MODEL_STRY:
        w = snprintf(buf, n, "%s s%d", k, op->a); break;
    case MODEL_ARM: w = snprintf(buf, n, "%s tmo%d %ds", k, op->a, op->d); break;
    case MODEL_DISARM: w = snprintf(buf, n, "%s tmo%d", k, op->a); break;
    case MODEL_RET: w = snprintf(buf, n, "%s %d", k, model_ret_value(op->a)); break;
    case MODEL_CALL: w = snprintf(buf, n, "%s%s child", op->a ? "SHIELDED " : "", k); break;
    case MODEL_WAITFOR: w = snprintf(buf, n, "%s %ds child", k, op->d); break;
    case MODEL_CWAIT: w = snprintf(buf, n, "%s c%d", k, model_cond_of(op)); break;
    case MODEL_CWAITFOR:
        w = snprintf(buf, n, "%s c%d (%d more notifies)", k, model_cond_of(op), op->d % 3);
        break;
    case MODEL_CNOTIFY: case MODEL_CNOTIFYALL:
        w = snprintf(buf, n, "%s%s c%d", op->a >= 4 ? "locked " : "", k, model_cond_of(op));
        if (op->kind == MODEL_CNOTIFY && w >= 0 && (size_t)w < n)
            w += snprintf(buf + w, n - (size_t)w, " %d", 1 + op->d % 2);
        break;
    case MODEL_BWAIT: case MODEL_BABORT: case MODEL_BRESET:
        w = snprintf(buf, n, "%s b%d", k, op->a); break;
    case MODEL_FAWAIT: case MODEL_FSET: case MODEL_FCANCEL: case MODEL_FRENEW: case MODEL_FCB:
        w = snprintf(buf, n, "%s f%d", k, op->a); break;
    case MODEL_FERR: w = snprintf(buf, n, "%s f%d %d", k, op->a, -(1 + op->d % 3)); break;
    case MODEL_WAITT:
        w = snprintf(buf, n, "%s others %s", k,
                     op->a == 0 ? "FIRST_COMPLETED" : op->a == 1 ? "FIRST_EXCEPTION"
                                                                 : "ALL_COMPLETED");
        break;
    default: w = snprintf(buf, n, "%s", k); break;
    }
    if (op->tmo && w >= 0 && (size_t)w < n)
        w += snprintf(buf + w, n - (size_t)w, " [WITH_TIMEOUT %ds]", op->tmo - 1);
    return w;
}

static inline int model_case_size(const model_case *c) {
    int k, d, s, n = 0;
    for (k = 0; k < c->ntasks; k++)
        for (d = 0; d < MODEL_DEPTH; d++)
            for (s = 0; s < 2; s++) n += c->nops[k][d][s];
    return n;
}

static inline void model_case_print(FILE *f, const model_case *c) {
    static const char *const sect[MODEL_DEPTH][2] = {{"body", "finally"},
                                                     {"child body", "child finally"}};
    int k, d, s, i;
    char buf[128];
    uint8_t bytes[1024];
    size_t n;
    fprintf(f, "  %d task(s), t0..t%d spawned at the start; queue capacities", c->ntasks,
            c->ninit - 1);
    for (i = 0; i < MODEL_NQ; i++)
        fprintf(f, " q%d=%d%s", i, c->qcap[i],
                c->qkind[i] == MODEL_QLIFO ? " (LIFO)" : c->qkind[i] == MODEL_QPRIO ? " (priority)" : "");
    fprintf(f, "; semaphores");
    for (i = 0; i < MODEL_NS; i++) fprintf(f, " s%d=%d", i, c->sem0[i]);
    fprintf(f, "; barrier parties");
    for (i = 0; i < MODEL_NB; i++) fprintf(f, " b%d=%d", i, c->bparties[i]);
    fprintf(f, "; %s\n", c->run_mode ? "async_run" : "stepped");
    for (k = 0; k < c->ntasks; k++) {
        fprintf(f, "  t%d:\n", k);
        for (d = 0; d < MODEL_DEPTH; d++)
            for (s = 0; s < 2; s++) {
                if (!c->nops[k][d][s]) continue;
                fprintf(f, "    %-14s", sect[d][s]);
                for (i = 0; i < c->nops[k][d][s]; i++) {
                    model_op_format(buf, sizeof buf, &c->ops[k][d][s][i]);
                    fprintf(f, "%s%s", i ? "; " : "", buf);
                }
                fprintf(f, "\n");
            }
    }
    n = model_case_encode(c, bytes, sizeof bytes);
    fprintf(f, "  bytes (model_case_decode / fuzz input):");
    for (i = 0; i < (int)n && i < (int)sizeof bytes; i++)
        fprintf(f, "%s%02x", i % 32 ? "" : "\n    ", bytes[i]);
    fprintf(f, "\n");
}

/* ==========================================================================
 * State: the real side (async.h) and the model side, in one context
 * ========================================================================== */

struct model_ctx;
typedef struct model_fs model_fs;
/* The interpreter's state: one per (task slot, depth). */
struct model_fs {
    async_frame frame;
    struct model_ctx *x;
    const model_op *op;     /* the op being executed */
    model_fs *child;        /* the next depth, or NULL */
    int task, depth, sec, idx, item, got, was;
    int gen;                /* depth 0: the child was started as a generator */
    int armed[2];           /* tmo[i] armed by this frame */
    async_gather g;         /* GATHER */
    async_task *gt[MODEL_NT];
    intptr_t gres[MODEL_NT];
    size_t gn;
    async_timeout tmo[2];   /* TIMEOUT_ARM / DISARM */
    async_timeout wtmo[2];  /* WITH_TIMEOUT and WAIT_FOR, per section */
    async_group grp;        /* GROUP_SPAWN / GROUP_WAIT: this frame's group */
    async_waiter gw[MODEL_NT];
    size_t bidx;            /* BARRIER_WAIT's index */
    async_qlink *lgot;      /* LQUEUE_GET's item */
    int own, lst, target;   /* COND_WAIT(_FOR): the lock was held before; how taking it
                               ended; the notify count WAIT_FOR waits for */
    async_wait ws;          /* WAIT_TASKS: over wt[0..wn) */
    async_waiter ww[MODEL_NT];
    async_task *wt[MODEL_NT];
    size_t wn;
};

/* An item of the unbounded queue: its link, and its number.  Slot k's done
 * callback, and what it needs to record that it ran. */
typedef struct { async_qlink link; int id; } model_litem;
typedef struct { async_done_callback cb; struct model_ctx *x; int k, f; } model_cb;

enum { MODEL_W_IDLE = 0, MODEL_W_READY, MODEL_W_SLEEP, MODEL_W_WAIT, MODEL_W_DONE };
enum { MODEL_SC_IDLE = 0, MODEL_SC_HEAP, MODEL_SC_FIRED };

typedef struct { int n; int id[MODEL_LCAP]; } model_m_list; /* slots, MODEL_WID nodes */
typedef struct { uint64_t deadline; uint32_t seq; int id; } model_m_timer;
typedef struct {
    int sec, idx, phase;   /* phase 0: op not begun; 1: in its wait; 2: in the child;
                              3: suspended at a YIELDV (a generator) */
    int done;              /* the frame has finished (a generator is exhausted) */
    int gen;               /* depth 0: the child was started as a generator */
    int fin, item, got;
    int armed[2];
    int begun;             /* its first statement ran (the group is set up) */
    int endwait;           /* at the group wait that ends its finally section */
    int own, lst, target, cstage; /* COND_WAIT(_FOR) (model_m_cond_run) */
    int bidx;              /* BARRIER_WAIT's index */
    intptr_t result;
} model_m_frame;
/* WAIT_TASKS of a frame (async_wait): its tasks (slots), how many it saw
 * done, the first it saw failing (slot + 1), return_when. */
typedef struct { int n, ids[MODEL_NT], done, failed, when; } model_m_wset;
typedef struct { int level, state, expired, paused; uint64_t deadline; } model_m_scope;
/* A gather in progress (async_gather_fn, one frame below the task's). */
typedef struct { int n, i, fin, phase, cancelled, ids[MODEL_NT]; } model_m_gather;
/* A group (async_group): members in spawn order (slots), how many have not
 * finished, the first failure (slot + 1, 0: none) and its result. */
typedef struct { int n, pending, failed, error, member[MODEL_NT], ended[MODEL_NT]; } model_m_group;
/* A group wait in progress (async_group_wait_fn, one frame below the
 * task's): fin 0: body, 1: finally begun, 2: in its wait loop; status: its
 * frame's status (g->frame.status). */
typedef struct { int fin, phase, status; } model_m_gwait;
/* What the model's groups went through in a case (the coverage test). */
enum { MODEL_GS_FAIL,       /* a member failed */
       MODEL_GS_FAIL_CANCEL, /* ...and cancelled a pending member */
       MODEL_GS_JOIN_FAILED, /* a member joined a failed group: cancelled at once */
       MODEL_GS_FULL,       /* a spawn into a full group (ENOSPC) */
       MODEL_GS_WAKE,       /* a member's end woke the group's waiter */
       MODEL_GS_MIDDLE,     /* a group's callback ran before a task woken by the same finish */
       MODEL_GS_INTR_TMO,   /* a group wait timed out with members pending */
       MODEL_GS_INTR_CANCEL, /* a group wait was cancelled with members pending */
       MODEL_GS_END_WAIT,   /* a finally section ended with a group wait */
       MODEL_GS_TAKEOVER,   /* a frame took over a group left pending */
       MODEL_GS_FOREIGN,    /* a group cancels all while an ended member's slot runs again
                               (and leaves that task alone) */
       MODEL_GS_N };
/* What the primitives of 0.5 went through (the coverage test). */
enum { MODEL_XS_COND_MORPH,  /* a notified waiter queued behind the lock's holder */
       MODEL_XS_COND_HANDED, /* a notify handed the free lock to its waiter */
       MODEL_XS_COND_RELOCK, /* a condition wait cut short queued for the lock */
       MODEL_XS_BAR_TRIP,    /* a barrier of two or more parties let them go */
       MODEL_XS_BAR_BROKEN,  /* a waiter saw its barrier aborted or reset */
       MODEL_XS_BAR_LEAVE,   /* a waiter cut short left the barrier */
       MODEL_XS_PRIO_TIE,    /* a put met an equal key in a priority queue */
       MODEL_XS_LIFO_NEWEST, /* a put went above older items in a LIFO queue */
       MODEL_XS_LQ_HANDED,   /* an unbounded queue's item went to a waiting getter */
       MODEL_XS_FUT_WAKE,    /* a future's completion woke a task */
       MODEL_XS_CB_RUN,      /* a done callback ran */
       MODEL_XS_WAIT_FIRST,  /* FIRST_COMPLETED returned with tasks still pending */
       MODEL_XS_WAIT_EXC,    /* FIRST_EXCEPTION returned on a failure, tasks pending */
       MODEL_XS_WAIT_TMO,    /* a WAIT_TASKS timed out */
       MODEL_XS_BAR_STALE,   /* a waiter let go by abort or reset was cut short */
       MODEL_XS_N };
typedef struct {
    int ever, live, cancel, granted, shield, where, list, spawns;
    int released; /* woken by a barrier's abort or reset (ASYNC__T_RELEASED) */
    int notified; /* notified by a condition (the same flag in async.h) */
    int peer_cancelled;  /* the awaited task that woke it ended cancelled */
    int budget_yield;    /* yielded at a wait's start, its budget spent */
    int started;         /* this incarnation ran its first step */
    model_m_gather ga;
    model_m_gwait gw;
    uint64_t deadline;
    int scopes[MODEL_DEPTH * 4]; /* armed timeouts, innermost first */
    int nscopes;
    model_m_frame fr[MODEL_DEPTH];
} model_m_task;
typedef struct {
    uint64_t now;
    uint32_t seq;
    int ntasks, next_item;
    int ready[MODEL_NT + 1];
    int nready;
    model_m_timer tl[MODEL_NTIMER];
    int ntl;
    model_m_list lists[MODEL_NL];
    model_m_task t[MODEL_NT];
    model_m_scope sc[MODEL_NSCOPE];
    int qitem[MODEL_NQ][MODEL_QCAPMAX];
    int qn[MODEL_NQ], qheld_items[MODEL_NQ], qheld_slots[MODEL_NQ], qclosed[MODEL_NQ];
    int eset[MODEL_NE];
    long semv[MODEL_NS];
    model_m_group grp[MODEL_NT][MODEL_DEPTH];
    long gstat[MODEL_GS_N];
    int lv, lheld, lowner; /* the lock: its semaphore's value and permits handed
                              over, the slot that owns it (-1: none) */
    int cval[MODEL_NC];    /* notifies of each condition (WAIT_FOR's predicate) */
    int bcount[MODEL_NB], bbroken[MODEL_NB];
    int lqitem[MODEL_LQMAX], lqn, lqheld, lqclosed;
    int fstate[MODEL_NF], fresult[MODEL_NF], ferror[MODEL_NF];
    int cbstate[MODEL_NT], cbfut[MODEL_NT]; /* 0 idle, 1 on the future, 2 scheduled */
    int ncb;               /* callbacks scheduled */
    model_m_wset ws[MODEL_NT][MODEL_DEPTH];
    long xstat[MODEL_XS_N];
    unsigned budget;       /* waits left to the running task in this step */
    long budget_yields;    /* (how often a budget ran out: the coverage test) */
} model_m;

typedef struct model_ctx {
    const model_case *c;
    model_opts o;
    /* real side */
    async_loop loop;
    async_task task[MODEL_NT];
    model_fs fs[MODEL_NT][MODEL_DEPTH];
    async_queue q[MODEL_NQ];
    unsigned char qbuf[MODEL_NQ][ASYNC_PRIORITY_QUEUE_BYTES(MODEL_QCAPMAX, sizeof(int))];
    async_event ev[MODEL_NE];
    async_semaphore sem[MODEL_NS];
    async_lock lock;
    async_condition cond[MODEL_NC];
    int cval[MODEL_NC];
    async_barrier bar[MODEL_NB];
    async_lqueue lq;
    model_litem litem[MODEL_MAXITEMS]; /* item id's storage (not cleared: put writes it) */
    async_future fut[MODEL_NF];
    model_cb cbs[MODEL_NT];
    int spawns[MODEL_NT], finishes[MODEL_NT], counted[MODEL_NT], ends[MODEL_NT];
    int started[MODEL_NT];   /* the current incarnation ran its first step */
    int unstarted[MODEL_NT]; /* incarnations that ended before a first step */
    int next_item;
    unsigned char item[MODEL_MAXITEMS]; /* 0: not stored, 1+q: in queue q (MODEL_NQ:
                                           the unbounded one), 255: got */
    uint64_t last_now;
    model_ev rev[MODEL_MAXEV];
    int nrev;
    /* model side */
    model_m m;
    model_ev mev[MODEL_MAXEV];
    int nmev;
    /* outcome */
    int failed;
    long step;
    char fail[1024];
} model_ctx;

static inline model_ctx *model_ctx_new(void) {
    model_ctx *x = (model_ctx *)calloc(1, sizeof(model_ctx));
    if (!x) {
        fprintf(stderr, "model: out of memory\n");
        abort();
    }
    return x;
}
static inline void model_ctx_free(model_ctx *x) { free(x); }

static inline void model_fail(model_ctx *x, const char *fmt, ...) {
    va_list ap;
    if (x->failed) return;
    x->failed = 1;
    va_start(ap, fmt);
    vsnprintf(x->fail, sizeof x->fail, fmt, ap);
    va_end(ap);
}

static inline const char *model_status_name(int st) {
    switch (st) {
    case ASYNC_OK: return "OK";
    case ASYNC_ETIMEDOUT: return "ETIMEDOUT";
    case ASYNC_ECANCELED: return "ECANCELED";
    case ASYNC_ECLOSED: return "ECLOSED";
    case ASYNC_EAGAIN: return "EAGAIN";
    case ASYNC_EXHAUSTED: return "EXHAUSTED";
    case ASYNC_EBROKEN: return "EBROKEN";
    case ASYNC_EINVAL: return "EINVAL";
    case MODEL_MISUSE: return "misuse caught";
    case ASYNC_EDEADLK: return "EDEADLK";
    case MODEL_SKIP: return "skipped";
    case MODEL_BUSY: return "busy";
    default: return NULL;
    }
}

static inline int model_ev_format(char *buf, size_t n, const model_ev *e) {
    char t[32];
    const char *who = e->depth ? " child" : "";
    const char *sec = e->sec ? "finally" : "body";
    snprintf(t, sizeof t, "t=%gs", (double)e->time / 1e9);
    switch (e->type) {
    case MODEL_EV_RESUME: return snprintf(buf, n, "%s t%d runs", t, e->task);
    case MODEL_EV_FIN:
        return snprintf(buf, n, "%s t%d%s enters finally (cancelled %d, result %d)", t,
                        e->task, who, e->c, e->d);
    case MODEL_EV_END:
        return snprintf(buf, n, "%s t%d%s ends (cancelled %d, result %d)", t, e->task,
                        who, e->c, e->d);
    case MODEL_EV_KILL:
        return snprintf(buf, n, "%s driver cancels t%d -> %d", t, e->task, e->c);
    case MODEL_EV_DEADLOCK:
        return snprintf(buf, n, "%s deadlock with %d task(s) pending", t, e->c);
    case MODEL_EV_CB:
        return snprintf(buf, n, "%s t%d's done callback on f%d runs", t, e->task, e->a);
    case MODEL_EV_OP: {
        const char *st = model_status_name(e->c);
        char sb[24];
        if (!st || (e->b == MODEL_CANCEL && e->c >= 0 && e->c <= 1)) {
            snprintf(sb, sizeof sb, "%d", e->c);
            st = sb;
        }
        return snprintf(buf, n, "%s t%d%s %s#%d %s -> %s, value %d, expired %d, aux %d", t,
                        e->task, who, sec, e->a, model_kind_name(e->b), st, e->d, e->e,
                        e->f);
    }
    default: return snprintf(buf, n, "%s ? event type %d", t, e->type);
    }
}

/* Record an event on one side (real = 1: async.h, 0: the model). */
static inline void model_push(model_ctx *x, int real, int type, int task, int depth, int sec,
                              int a, int b, int c, int d, int e, int f) {
    model_ev *ev;
    int *n = real ? &x->nrev : &x->nmev;
    if (*n >= MODEL_MAXEV) {
        model_fail(x, "harness: trace overflow (%d events)", MODEL_MAXEV);
        return;
    }
    ev = real ? &x->rev[*n] : &x->mev[*n];
    ev->time = real ? x->loop.now : x->m.now;
    ev->type = (uint8_t)type;
    ev->task = (uint8_t)task;
    ev->depth = (uint8_t)depth;
    ev->sec = (uint8_t)sec;
    ev->a = a;
    ev->b = b;
    ev->c = c;
    ev->d = d;
    ev->e = e;
    ev->f = f;
    if (!real && *n == x->o.mutate_event) ev->c += 7; /* deliberate fault */
    (*n)++;
}

/* What a frame returns when its body runs to its end: a task in an odd
 * slot fails (a negative result: for a group it is a member of, a failure). */
static inline intptr_t model_default_result(int task, int depth) {
    return (depth == 0 && task % 2 ? -1 : 1) * (1000 + 10 * task + depth);
}

/* ==========================================================================
 * The real side: the interpreter coroutine and its helpers
 * ========================================================================== */

static inline void model_check_lib(model_ctx *x, int current);

static inline const model_op *model_op_at(const model_case *c, int k, int d, int s, int i) {
    return &c->ops[k][d][s][i];
}

static inline void model_real_op(model_fs *s, int st, int value, int expired, int aux) {
    model_push(s->x, 1, MODEL_EV_OP, s->task, s->depth, s->sec, s->idx, s->op->kind, st,
               value, expired, aux);
}

static inline void model_item_put(model_ctx *x, int id, int q) {
    if (id <= 0 || id >= MODEL_MAXITEMS) return;
    if (x->item[id] != 0)
        model_fail(x, "invariant: item %d stored in queue q%d a second time (state %d)", id,
                   q, x->item[id]);
    x->item[id] = (unsigned char)(1 + q);
}

static inline void model_item_got(model_ctx *x, int id, int q) {
    if (id <= 0 || id >= MODEL_MAXITEMS) {
        model_fail(x, "invariant: a get from q%d returned %d, never put", q, id);
        return;
    }
    if (x->item[id] != 1 + q)
        model_fail(x, "invariant: a get from q%d returned item %d, which is not in it "
                      "(state %d: 0 never stored, 255 already got)", q, id, x->item[id]);
    x->item[id] = 255;
}

static int model_fn(async_task *task, void *arg);

/* Spawn slot k, into group g unless it is NULL. */
static inline int model_real_spawn(model_ctx *x, int k, async_group *g) {
    int rc;
    if (x->spawns[k] && async_task_state(&x->task[k]) == ASYNC_PENDING) return MODEL_BUSY;
    if (x->spawns[k] >= MODEL_MAXSPAWN) return MODEL_SKIP;
    if (x->spawns[k] && !x->counted[k]) { /* finished and not yet seen by a check */
        x->finishes[k]++;
        x->unstarted[k] += !x->started[k];
        x->counted[k] = 1;
    }
    rc = g ? async_group_spawn(g, &x->loop, &x->task[k], model_fn, &x->fs[k][0])
           : async_spawn(&x->loop, &x->task[k], model_fn, &x->fs[k][0]);
    if (rc != ASYNC_OK) return rc;
    x->spawns[k]++;
    x->counted[k] = 0;
    x->started[k] = 0;
    return rc;
}

/* The slot of a task of ours, or -1. */
static inline int model_real_slot(const model_ctx *x, const async_task *t) {
    return t ? (int)(t - x->task) : -1;
}

/* What a group wait reports beside its status and g->error: the member
 * that failed first (+1), the members, how many are done, how many pending,
 * as the decimal digits of one number. */
static inline int model_group_aux(int failed, int n, int ndone, int pending) {
    return 1000 * failed + 100 * n + 10 * ndone + pending;
}

static inline void model_real_group_op(model_fs *s, int st) {
    async_group *g = &s->grp;
    int i, ndone = 0;
    for (i = 0; i < (int)g->n; i++) ndone += async_task_done(g->w[i].task);
    model_real_op(s, st, (int)g->error,
                  s->op->tmo ? async_timeout_expired(&s->wtmo[s->sec]) : -1,
                  model_group_aux(model_real_slot(s->x, g->failed) + 1, (int)g->n, ndone,
                                  (int)g->pending));
}

/* The group wait that ends a finally section while members are pending
 * (idx: one past the section's last op). */
static const model_op model_op_end_gwait = {MODEL_GWAIT, 0, 0, 0};

/* A priority queue's key: few values, so that equal keys meet and put
 * order decides. */
static inline int model_qkey(int v) { return v % 2; }
static int model_qcmp(const void *a, const void *b) {
    int u, v;
    memcpy(&u, a, sizeof u);
    memcpy(&v, b, sizeof v);
    return model_qkey(u) - model_qkey(v);
}

static inline void model_real_qinit(model_ctx *x, int q) {
    async_queue *qq = &x->q[q];
    size_t cap = x->c->qcap[q];
    if (x->c->qkind[q] == MODEL_QLIFO)
        async_lifo_queue_init(qq, x->qbuf[q], cap, sizeof(int));
    else if (x->c->qkind[q] == MODEL_QPRIO)
        async_priority_queue_init(qq, x->qbuf[q], cap, sizeof(int), model_qcmp);
    else
        async_queue_init(qq, x->qbuf[q], cap, sizeof(int));
}

/* The items in a queue in the order gets would take them (the model keeps
 * its queues in that order): a ring read from the oldest or the newest, or
 * a priority queue's heap sorted by key and put number.  Their number. */
static inline int model_real_qitems(const async_queue *qq, int *out) {
    int n = qq->count < MODEL_QCAPMAX ? (int)qq->count : MODEL_QCAPMAX, i, j;
    uint64_t seq[MODEL_QCAPMAX];
    for (i = 0; i < n; i++) {
        int v;
        uint64_t sq = 0;
        if (qq->order == ASYNC__Q_PRIORITY) {
            const unsigned char *p = qq->buf + (size_t)i * (qq->size + 8u);
            memcpy(&v, p, sizeof v);
            memcpy(&sq, p + qq->size, sizeof sq);
        } else {
            size_t pos = qq->order == ASYNC__Q_LIFO ? qq->head + qq->count - 1 - (size_t)i
                                                    : qq->head + (size_t)i;
            memcpy(&v, qq->buf + (pos % qq->cap) * qq->size, sizeof v);
        }
        for (j = i; j > 0 && qq->order == ASYNC__Q_PRIORITY &&
                    (model_qkey(v) < model_qkey(out[j - 1]) ||
                     (model_qkey(v) == model_qkey(out[j - 1]) && sq < seq[j - 1]));
             j--) {
            out[j] = out[j - 1];
            seq[j] = seq[j - 1];
        }
        out[j] = v;
        seq[j] = sq;
    }
    return n;
}

/* Destroy queue q and initialise it again; the items it held are dropped
 * (by the program's choice: not lost). */
static inline int model_real_recycle(model_ctx *x, int q) {
    jmp_buf jb;
    async_queue *qq = &x->q[q];
    int i, n, v[MODEL_QCAPMAX];
    if (setjmp(jb)) {
        model_catch = NULL;
        return MODEL_MISUSE;
    }
    model_catch = &jb;
    async_queue_destroy(qq);
    model_catch = NULL;
    n = model_real_qitems(qq, v);
    for (i = 0; i < n; i++)
        if (v[i] > 0 && v[i] < MODEL_MAXITEMS) x->item[v[i]] = 254;
    model_real_qinit(x, q);
    return ASYNC_OK;
}

/* async_future_destroy + async_future_init (refused while anything waits). */
static inline int model_real_frenew(model_ctx *x, int f) {
    jmp_buf jb;
    if (setjmp(jb)) {
        model_catch = NULL;
        return MODEL_MISUSE;
    }
    model_catch = &jb;
    async_future_destroy(&x->fut[f]);
    model_catch = NULL;
    return async_future_init(&x->fut[f], &x->loop);
}

/* What FUTURE_SET_RESULT sets, and FUTURE_SET_ERROR's code. */
static inline int model_fset_value(int task, int depth, int idx) {
    return 3000 + 100 * task + 10 * depth + idx;
}
static inline int model_ferr_code(const model_op *op) { return -(1 + op->d % 3); }

/* A done callback: the trace shows when it runs. */
static void model_cb_fn(async_loop *loop, void *arg) {
    model_cb *cb = (model_cb *)arg;
    (void)loop;
    model_push(cb->x, 1, MODEL_EV_CB, cb->k, 0, 0, cb->f, 0, 0, 0, 0, 0);
}
static inline int model_real_cb_busy(const model_cb *cb) {
    return cb->cb.w.node.where == ASYNC__W_WAITING || async_handle_pending(&cb->cb.h);
}

static inline intptr_t model_yield_value(int task, int depth, int idx) {
    return 2000 + 100 * task + 10 * depth + idx;
}

/* GATHER's tasks: every other slot ever spawned, in slot order. */
static inline void model_real_gather_tasks(model_fs *s) {
    int j;
    s->gn = 0;
    for (j = 0; j < s->x->c->ntasks; j++)
        if (j != s->task && s->x->spawns[j]) s->gt[s->gn++] = &s->x->task[j];
}

/* The child, driven as a generator, has finished (or was never started). */
static inline int model_child_done(const model_fs *s) {
    return s->child->frame.pc == ASYNC__PC_DONE;
}

/* A notify, or notify_all; its count (the predicate of WAIT_FOR) first. */
static inline int model_real_notify(model_fs *s) {
    int c = model_cond_of(s->op), v = ++s->x->cval[c];
    if (s->op->kind == MODEL_CNOTIFY)
        async_condition_notify(&s->x->cond[c], (size_t)(1 + s->op->d % 2));
    else
        async_condition_notify_all(&s->x->cond[c]);
    return v;
}

static inline void model_real_plain(model_fs *s) {
    model_ctx *x = s->x;
    int a = s->op->a, rc = ASYNC_OK, v = 0, aux = 0;
    switch (s->op->kind) {
    case MODEL_RECYCLE: rc = model_real_recycle(x, a); break;
    case MODEL_SPAWN: rc = model_real_spawn(x, a, NULL); break;
    case MODEL_GSPAWN:
        rc = model_real_spawn(x, a, &s->grp);
        v = (int)s->grp.n;
        aux = (int)s->grp.pending;
        break;
    case MODEL_CANCEL: rc = x->spawns[a] ? async_cancel(&x->task[a]) : MODEL_SKIP; break;
    case MODEL_TRYPUT:
        v = ++x->next_item;
        rc = async_queue_try_put(&x->q[a], &v);
        if (rc == ASYNC_OK) model_item_put(x, v, a);
        break;
    case MODEL_TRYGET:
        rc = async_queue_try_get(&x->q[a], &v);
        if (rc == ASYNC_OK) model_item_got(x, v, a);
        break;
    case MODEL_CLOSE: async_queue_close(&x->q[a]); break;
    case MODEL_ESET: async_event_set(&x->ev[a]); break;
    case MODEL_ECLEAR: async_event_clear(&x->ev[a]); break;
    case MODEL_SREL: async_semaphore_release(&x->sem[a]); break;
    case MODEL_STRY: rc = async_semaphore_try_acquire(&x->sem[a]); break;
    case MODEL_CNOTIFY: case MODEL_CNOTIFYALL: v = model_real_notify(s); break;
    case MODEL_BABORT: async_barrier_abort(&x->bar[a]); break;
    case MODEL_BRESET: async_barrier_reset(&x->bar[a]); break;
    case MODEL_LQPUT:
        v = ++x->next_item;
        if (v >= MODEL_MAXITEMS || async_lqueue_size(&x->lq) >= MODEL_LQMAX) {
            rc = MODEL_SKIP;
            break;
        }
        x->litem[v].id = v;
        rc = async_lqueue_put(&x->lq, &x->litem[v].link);
        if (rc == ASYNC_OK) model_item_put(x, v, MODEL_NQ);
        break;
    case MODEL_LQTRY: {
        async_qlink *l = NULL;
        rc = async_lqueue_try_get(&x->lq, &l);
        if (rc == ASYNC_OK) {
            v = ASYNC_CONTAINER_OF(l, model_litem, link)->id;
            model_item_got(x, v, MODEL_NQ);
        }
        break;
    }
    case MODEL_LQCLOSE: async_lqueue_close(&x->lq); break;
    case MODEL_FSET:
        v = model_fset_value(s->task, s->depth, s->idx);
        rc = async_future_set_result(&x->fut[a], v);
        break;
    case MODEL_FERR: rc = async_future_set_error(&x->fut[a], model_ferr_code(s->op)); break;
    case MODEL_FCANCEL: rc = async_future_cancel(&x->fut[a]); break;
    case MODEL_FRENEW: rc = model_real_frenew(x, a); break;
    case MODEL_FCB:
        if (model_real_cb_busy(&x->cbs[s->task])) {
            rc = MODEL_SKIP;
            break;
        }
        x->cbs[s->task].f = a;
        rc = async_future_add_done_callback(&x->fut[a], &x->cbs[s->task].cb, model_cb_fn,
                                            &x->cbs[s->task]);
        break;
    case MODEL_FCBREM: rc = async_done_callback_remove(&x->cbs[s->task].cb); break;
    default: rc = MODEL_SKIP; break;
    }
    model_real_op(s, rc, v, -1, aux);
}

static inline int model_real_skip_wait(model_fs *s) {
    if (s->op->kind == MODEL_LACQ) return s->x->lock.owner == &s->x->task[s->task];
    return s->op->kind == MODEL_AWAIT && (s->op->a == s->task || !s->x->spawns[s->op->a]);
}

/* WAIT_TASKS' tasks, like GATHER's: every other slot ever spawned. */
static inline void model_real_wait_tasks(model_fs *s) {
    int j;
    s->wn = 0;
    for (j = 0; j < s->x->c->ntasks; j++)
        if (j != s->task && s->x->spawns[j]) s->wt[s->wn++] = &s->x->task[j];
}

static inline void model_real_pre_wait(model_fs *s) {
    if (s->op->kind == MODEL_PUT) s->item = ++s->x->next_item;
    if (s->op->kind == MODEL_WAITT) model_real_wait_tasks(s);
    s->got = 0;
    s->lgot = NULL;
    s->bidx = 99;
}

/* What WAIT_TASKS reports beside its status and ws.done: which of the
 * slots are done (bits), and the first it saw failing (+1, times 256). */
static inline int model_real_wait_aux(model_fs *s) {
    int aux = 0;
    size_t i;
    for (i = 0; i < s->wn; i++)
        if (async_task_done(s->wt[i])) aux |= 1 << model_real_slot(s->x, s->wt[i]);
    return aux | (model_real_slot(s->x, s->ws.first_failed) + 1) << 8;
}

/* Before COND_WAIT(_FOR): was the lock held, and the notifies to wait for. */
static inline void model_real_cond_pre(model_fs *s) {
    s->own = s->x->lock.owner == &s->x->task[s->task];
    s->lst = ASYNC_OK;
    s->target = s->x->cval[model_cond_of(s->op)] + s->op->d % 3;
}

static inline void model_real_post_wait(model_fs *s, int st) {
    model_ctx *x = s->x;
    int value = 0, aux = 0, a = s->op->a;
    int expired = s->op->tmo ? async_timeout_expired(&s->wtmo[s->sec]) : -1;
    if (s->op->kind == MODEL_PUT) {
        value = s->item;
        if (st == ASYNC_OK) model_item_put(x, s->item, a);
    } else if (s->op->kind == MODEL_GET) {
        value = s->got;
        if (st == ASYNC_OK) model_item_got(x, s->got, a);
        else if (s->got)
            model_fail(x, "invariant: a get from q%d failed (%d) but wrote item %d", a, st,
                       s->got);
    } else if (s->op->kind == MODEL_AWAIT) {
        value = (int)async_task_result(&x->task[a]);
        aux = async_task_state(&x->task[a]);
    } else if (s->op->kind == MODEL_LACQ) {
        aux = x->lock.owner == &x->task[s->task];
    } else if (s->op->kind == MODEL_BWAIT) {
        value = st == ASYNC_OK ? (int)s->bidx : -1;
    } else if (s->op->kind == MODEL_LQGET) {
        if (st == ASYNC_OK && s->lgot) {
            value = ASYNC_CONTAINER_OF(s->lgot, model_litem, link)->id;
            model_item_got(x, value, MODEL_NQ);
        } else if (st == ASYNC_OK || s->lgot) {
            model_fail(x, "invariant: LQUEUE_GET ended with %d and item %p", st,
                       (void *)s->lgot);
        }
    } else if (s->op->kind == MODEL_FAWAIT) {
        value = (int)async_future_result(&x->fut[a]);
    } else if (s->op->kind == MODEL_WAITT) {
        value = (int)s->ws.done;
        aux = model_real_wait_aux(s);
    }
    model_real_op(s, st, value, expired, aux);
}

/* One wait, its status left in ASYNC_STATUS().  No side effects in the
 * macro arguments: they are evaluated again at each resumption. */
#define MODEL__WAIT(s)                                                        \
    do {                                                                      \
        if ((s)->op->kind == MODEL_YIELD) {                                   \
            ASYNC_YIELD();                                                    \
        } else if ((s)->op->kind == MODEL_SLEEP) {                            \
            if ((s)->idx % 3 == 0) {                                          \
                ASYNC_SLEEP((double)(s)->op->d);                              \
            } else if ((s)->idx % 3 == 1) {                                   \
                ASYNC_SLEEP_MS((int64_t)(s)->op->d * 1000);                   \
            } else {                                                          \
                ASYNC_SLEEP_NS((int64_t)(s)->op->d * (int64_t)MODEL_SECOND);  \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_AWAIT) {                            \
            ASYNC_AWAIT_TASK(&(s)->x->task[(s)->op->a]);                      \
        } else if ((s)->op->kind == MODEL_PUT) {                              \
            ASYNC_QUEUE_PUT(&(s)->x->q[(s)->op->a], &(s)->item);              \
        } else if ((s)->op->kind == MODEL_GET) {                              \
            ASYNC_QUEUE_GET(&(s)->x->q[(s)->op->a], &(s)->got);               \
        } else if ((s)->op->kind == MODEL_EWAIT) {                            \
            ASYNC_EVENT_WAIT(&(s)->x->ev[(s)->op->a]);                        \
        } else if ((s)->op->kind == MODEL_LACQ) {                             \
            ASYNC_LOCK_ACQUIRE(&(s)->x->lock);                                \
        } else if ((s)->op->kind == MODEL_BWAIT) {                            \
            ASYNC_BARRIER_WAIT(&(s)->x->bar[(s)->op->a], &(s)->bidx);         \
        } else if ((s)->op->kind == MODEL_LQGET) {                            \
            ASYNC_LQUEUE_GET(&(s)->x->lq, &(s)->lgot);                        \
        } else if ((s)->op->kind == MODEL_FAWAIT) {                           \
            ASYNC_FUTURE_AWAIT(&(s)->x->fut[(s)->op->a]);                     \
        } else if ((s)->op->kind == MODEL_WAITT) {                            \
            ASYNC_WAIT_TASKS(&(s)->ws, (s)->ww, (s)->wt, (s)->wn,             \
                             ASYNC_FIRST_COMPLETED + (s)->op->a);             \
        } else {                                                              \
            ASYNC_SEM_ACQUIRE(&(s)->x->sem[(s)->op->a]);                      \
        }                                                                     \
    } while (0)

/* COND_WAIT(_FOR) and a locked notify: take the lock unless it is held,
 * wait on the condition (async.h gives the lock back before it returns,
 * whatever the status) or notify, and release the lock if it was taken
 * here.  One timeout covers it all. */
#define MODEL__COND(s)                                                        \
    do {                                                                      \
        if (!(s)->own) {                                                      \
            ASYNC_LOCK_ACQUIRE(&(s)->x->lock);                                \
            (s)->lst = ASYNC_STATUS();                                        \
        }                                                                     \
        if ((s)->lst == ASYNC_OK) {                                           \
            if ((s)->op->kind == MODEL_CWAIT) {                               \
                ASYNC_COND_WAIT(&(s)->x->cond[model_cond_of((s)->op)]);       \
            } else if ((s)->op->kind == MODEL_CWAITFOR) {                     \
                ASYNC_COND_WAIT_FOR(&(s)->x->cond[model_cond_of((s)->op)],    \
                                    (s)->x->cval[model_cond_of((s)->op)] >=   \
                                        (s)->target);                         \
            } else {                                                          \
                model_real_notify(s);                                         \
            }                                                                 \
            if (!(s)->own) ASYNC_LOCK_RELEASE(&(s)->x->lock);                 \
        }                                                                     \
    } while (0)

/* One op of the program (an if chain: no suspension inside a switch). */
#define MODEL__EXEC(s)                                                        \
    do {                                                                      \
        if (model_is_wait((s)->op->kind)) {                                   \
            if (model_real_skip_wait(s)) {                                    \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                model_real_pre_wait(s);                                       \
                if ((s)->op->tmo) {                                           \
                    ASYNC_WITH_TIMEOUT(&(s)->wtmo[(s)->sec],                  \
                                       (double)((s)->op->tmo - 1),            \
                                       MODEL__WAIT(s));                       \
                } else {                                                      \
                    MODEL__WAIT(s);                                           \
                }                                                             \
                model_real_post_wait((s), ASYNC_STATUS());                    \
            }                                                                 \
        } else if (model_is_locked((s)->op->kind, (s)->op->a)) {              \
            model_real_cond_pre(s);                                           \
            if ((s)->op->tmo) {                                               \
                ASYNC_WITH_TIMEOUT(&(s)->wtmo[(s)->sec],                      \
                                   (double)((s)->op->tmo - 1), MODEL__COND(s)); \
            } else {                                                          \
                MODEL__COND(s);                                               \
            }                                                                 \
            /* (a notify waits on nothing: ASYNC_STATUS() is the last wait's) */ \
            model_real_op((s), model_is_wait_cond((s)->op->kind) ? ASYNC_STATUS() \
                                                                 : (s)->lst,    \
                          (s)->lst,                                           \
                          (s)->op->tmo                                        \
                              ? async_timeout_expired(&(s)->wtmo[(s)->sec])   \
                              : -1,                                           \
                          10 * (s)->own + ((s)->x->lock.owner ==              \
                                           &(s)->x->task[(s)->task]));        \
        } else if ((s)->op->kind == MODEL_LREL) {                             \
            if ((s)->x->lock.owner != &(s)->x->task[(s)->task]) {             \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                ASYNC_LOCK_RELEASE(&(s)->x->lock);                            \
                model_real_op((s), ASYNC_OK, 0, -1, 0);                       \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_GATHER) {                           \
            model_real_gather_tasks(s);                                       \
            if ((s)->op->tmo) {                                               \
                ASYNC_WITH_TIMEOUT(&(s)->wtmo[(s)->sec],                      \
                                   (double)((s)->op->tmo - 1),                \
                                   ASYNC_GATHER(&(s)->g, (s)->gt, (s)->gn,    \
                                                (s)->gres));                  \
            } else {                                                          \
                ASYNC_GATHER(&(s)->g, (s)->gt, (s)->gn, (s)->gres);           \
            }                                                                 \
            model_real_op((s), ASYNC_STATUS(), (int)ASYNC_RESULT(&(s)->g),    \
                          (s)->op->tmo                                        \
                              ? async_timeout_expired(&(s)->wtmo[(s)->sec])   \
                              : -1,                                           \
                          (int)(s)->gn);                                      \
        } else if ((s)->op->kind == MODEL_GWAIT) {                            \
            if ((s)->op->tmo) {                                               \
                ASYNC_WITH_TIMEOUT(&(s)->wtmo[(s)->sec],                      \
                                   (double)((s)->op->tmo - 1),                \
                                   ASYNC_GROUP_WAIT(&(s)->grp));              \
            } else {                                                          \
                ASYNC_GROUP_WAIT(&(s)->grp);                                  \
            }                                                                 \
            model_real_group_op((s), ASYNC_STATUS());                         \
        } else if ((s)->op->kind == MODEL_NEXT) {                             \
            if (!(s)->child) {                                                \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                if (!(s)->gen) {                                              \
                    async_gen_init((s)->child);                               \
                    (s)->gen = 1;                                             \
                }                                                             \
                ASYNC_NEXT(model_fn, (s)->child);                             \
                if (model_child_done(s)) (s)->gen = 0;                        \
                model_real_op((s), ASYNC_STATUS(),                            \
                              ASYNC_STATUS() == ASYNC_OK                      \
                                  ? (int)ASYNC_RESULT((s)->child) : 0,        \
                              -1, 0);                                         \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_GCLOSE) {                           \
            if (!(s)->child || !(s)->gen || model_child_done(s)) {            \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                ASYNC_GEN_CLOSE(model_fn, (s)->child);                        \
                (s)->gen = 0;                                                 \
                model_real_op((s), ASYNC_STATUS(), 0, -1, 0);                 \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_YIELDV) {                           \
            ASYNC_YIELD_VALUE(model_yield_value((s)->task, (s)->depth,        \
                                                (s)->idx));                   \
            model_real_op((s), ASYNC_STATUS(), 0, -1, 0);                     \
        } else if (((s)->op->kind == MODEL_CALL ||                            \
                    (s)->op->kind == MODEL_WAITFOR) &&                        \
                   (s)->child && (s)->gen && !model_child_done(s)) {          \
            /* the child is a generator suspended at a yield: not reused */   \
            model_real_op((s), MODEL_SKIP, 0, -1, 0);                         \
        } else if ((s)->op->kind == MODEL_CALL) {                             \
            (s)->gen = 0;                                                     \
            if (!(s)->child) {                                                \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                if ((s)->op->a) {                                             \
                    ASYNC_AWAIT_SHIELDED(model_fn, (s)->child);               \
                } else {                                                      \
                    ASYNC_AWAIT(model_fn, (s)->child);                        \
                }                                                             \
                model_real_op((s), ASYNC_STATUS(),                            \
                              (int)ASYNC_RESULT((s)->child), -1, 0);          \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_WAITFOR) {                          \
            (s)->gen = 0;                                                     \
            if (!(s)->child) {                                                \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                ASYNC_WAIT_FOR(&(s)->wtmo[(s)->sec], (double)(s)->op->d,      \
                               model_fn, (s)->child);                         \
                model_real_op((s), ASYNC_STATUS(),                            \
                              (int)ASYNC_RESULT((s)->child),                  \
                              async_timeout_expired(&(s)->wtmo[(s)->sec]), 0); \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_ARM) {                              \
            if ((s)->armed[(s)->op->a]) {                                     \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                ASYNC_TIMEOUT_ARM(&(s)->tmo[(s)->op->a], (double)(s)->op->d); \
                (s)->armed[(s)->op->a] = 1;                                   \
                model_real_op((s), ASYNC_OK, 0, -1, 0);                       \
            }                                                                 \
        } else if ((s)->op->kind == MODEL_DISARM) {                           \
            (s)->was = (s)->armed[(s)->op->a];                                \
            ASYNC_TIMEOUT_DISARM(&(s)->tmo[(s)->op->a]);                      \
            (s)->armed[(s)->op->a] = 0;                                       \
            model_real_op((s), ASYNC_OK,                                      \
                          (s)->was ? async_timeout_expired(&(s)->tmo[(s)->op->a]) : -1, \
                          -1, 0);                                             \
        } else if ((s)->op->kind == MODEL_RET) {                              \
            if ((s)->sec) {                                                   \
                model_real_op((s), MODEL_SKIP, 0, -1, 0);                     \
            } else {                                                          \
                model_real_op((s), ASYNC_OK, model_ret_value((s)->op->a), -1, 0); \
                ASYNC_RETURN(model_ret_value((s)->op->a));                    \
            }                                                                 \
        } else {                                                              \
            model_real_plain(s);                                              \
        }                                                                     \
    } while (0)

static inline void model_on_resume(model_ctx *x, int k) {
    x->started[k] = 1;
    model_push(x, 1, MODEL_EV_RESUME, k, 0, 0, 0, 0, 0, 0, 0, 0);
    model_check_lib(x, k);
}

/* The interpreter: a task's frame (depth 0) or a child (depth 1). */
static int model_fn(async_task *task, void *arg) {
    model_fs *s = (model_fs *)arg;
    if (s->depth == 0) model_on_resume(s->x, s->task);
    ASYNC_BEGIN(task, s);
    s->armed[0] = s->armed[1] = 0;
    s->gen = 0;
    s->sec = 0;
    /* A new group, unless the last run of this frame left members pending
     * (a generator abandoned at a yield never ran the wait that ends its
     * finally): then this run takes the group over as it is. */
    if (!s->grp.pending) async_group_init(&s->grp, s->gw, MODEL_GCAP(s->task));
    for (s->idx = 0; s->idx < s->x->c->nops[s->task][s->depth][0]; s->idx++) {
        s->op = model_op_at(s->x->c, s->task, s->depth, 0, s->idx);
        MODEL__EXEC(s);
    }
    ASYNC_RETURN(model_default_result(s->task, s->depth));
    ASYNC_FINALLY;
    s->sec = 1;
    model_push(s->x, 1, MODEL_EV_FIN, s->task, s->depth, 1, 0, 0, ASYNC_CANCELLED(),
               (int)s->frame.result, 0, 0);
    for (s->idx = 0; s->idx < s->x->c->nops[s->task][s->depth][1]; s->idx++) {
        s->op = model_op_at(s->x->c, s->task, s->depth, 1, s->idx);
        MODEL__EXEC(s);
    }
    if (s->grp.pending) { /* like leaving `async with TaskGroup()` */
        s->op = &model_op_end_gwait;
        ASYNC_GROUP_WAIT(&s->grp);
        model_real_group_op(s, ASYNC_STATUS());
    }
    /* A task that ends holding the lock gives it back: a lock left taken
     * would stall the rest of the case, and a later incarnation of the
     * slot would pass for its owner. */
    if (s->depth == 0 && s->x->lock.owner == task) ASYNC_LOCK_RELEASE(&s->x->lock);
    if (s->depth == 0) s->x->ends[s->task]++;
    model_push(s->x, 1, MODEL_EV_END, s->task, s->depth, 1, 0, 0, ASYNC_CANCELLED(),
               (int)s->frame.result, 0, 0);
    ASYNC_END;
}

/* ==========================================================================
 * The reference model
 * ========================================================================== */

static inline int model_scope_id(int k, int d, int slot) { return (k * MODEL_DEPTH + d) * 4 + slot; }
static inline int model_scope_task(int id) { return id / (MODEL_DEPTH * 4); }
static inline int model_scope_depth(int id) { return (id / 4) % MODEL_DEPTH; }

static inline void model_m_push_ready(model_ctx *x, int k) {
    model_m *m = &x->m;
    if (m->nready >= MODEL_NT) {
        model_fail(x, "model: ready queue overflow (t%d twice?)", k);
        return;
    }
    m->ready[m->nready++] = k;
    m->t[k].where = MODEL_W_READY;
}

static inline void model_m_timer_add(model_ctx *x, int id, uint64_t deadline) {
    model_m *m = &x->m;
    int pos = m->ntl;
    if (x->o.model_bug == MODEL_BUG_LIFO_TIES)
        while (pos > 0 && m->tl[pos - 1].deadline >= deadline) pos--;
    else
        while (pos > 0 && m->tl[pos - 1].deadline > deadline) pos--;
    memmove(&m->tl[pos + 1], &m->tl[pos], (size_t)(m->ntl - pos) * sizeof m->tl[0]);
    m->tl[pos].deadline = deadline;
    m->tl[pos].seq = m->seq++;
    m->tl[pos].id = id;
    m->ntl++;
    if (id < MODEL_NT) m->t[id].where = MODEL_W_SLEEP;
}

static inline void model_m_timer_remove(model_ctx *x, int id) {
    model_m *m = &x->m;
    int i;
    for (i = 0; i < m->ntl && m->tl[i].id != id; i++) {
    }
    if (i == m->ntl) return;
    memmove(&m->tl[i], &m->tl[i + 1], (size_t)(m->ntl - i - 1) * sizeof m->tl[0]);
    m->ntl--;
}

static inline void model_m_park(model_ctx *x, int k, int list) {
    model_m_list *l = &x->m.lists[list];
    if (l->n >= MODEL_LCAP) {
        model_fail(x, "model: wait list %d overflows", list);
        return;
    }
    x->m.t[k].granted = 0;
    x->m.t[k].released = 0;
    x->m.t[k].notified = 0;
    x->m.t[k].where = MODEL_W_WAIT;
    x->m.t[k].list = list;
    l->id[l->n++] = k;
}

static inline void model_m_list_remove(model_ctx *x, int k) {
    model_m_list *l = &x->m.lists[x->m.t[k].list];
    int i;
    for (i = 0; i < l->n && l->id[i] != k; i++) {
    }
    if (i == l->n) return;
    memmove(&l->id[i], &l->id[i + 1], (size_t)(l->n - i - 1) * sizeof l->id[0]);
    l->n--;
    x->m.t[k].where = MODEL_W_IDLE;
}

/* Take node id (not a task) off a list; 1 if it was there. */
static inline int model_m_list_drop(model_ctx *x, int list, int id) {
    model_m_list *l = &x->m.lists[list];
    int i;
    for (i = 0; i < l->n && l->id[i] != id; i++) {
    }
    if (i == l->n) return 0;
    memmove(&l->id[i], &l->id[i + 1], (size_t)(l->n - i - 1) * sizeof l->id[0]);
    l->n--;
    return 1;
}

static inline void model_m_list_append(model_ctx *x, int list, int id) {
    model_m_list *l = &x->m.lists[list];
    if (l->n >= MODEL_LCAP) {
        model_fail(x, "model: wait list %d overflows", list);
        return;
    }
    l->id[l->n++] = id;
}

static inline void model_m_node_notify(model_ctx *x, int id);

/* Take the node at position pos (0: the first) off a wait list and wake
 * it: a task goes to the ready queue, a group's or a WAIT_TASKS' node runs
 * its callback there and then, a done callback is scheduled. */
static inline int model_m_wake_at(model_ctx *x, int list, int pos, int granted) {
    model_m_list *l = &x->m.lists[list];
    int k;
    if (pos < 0 || pos >= l->n) return 0;
    k = l->id[pos];
    if (k >= MODEL_WBASE) {
        memmove(&l->id[pos], &l->id[pos + 1], (size_t)(l->n - pos - 1) * sizeof l->id[0]);
        l->n--;
        model_m_node_notify(x, k);
        return 1;
    }
    model_m_list_remove(x, k);
    if (granted) x->m.t[k].granted = 1;
    model_m_push_ready(x, k);
    return 1;
}
static inline int model_m_wake_one(model_ctx *x, int list, int granted) {
    return model_m_wake_at(x, list, 0, granted);
}

static inline void model_m_wake_all(model_ctx *x, int list, int granted) {
    while (model_m_wake_one(x, list, granted)) {
    }
}

/* The cooperative budget (ASYNC_BUDGET): every wait but a yield takes one
 * unit of the running task's step; with none left, the wait yields first
 * and starts when the task runs again.  Returns 1 if task k yielded. */
static inline int model_m_budget_yield(model_ctx *x, int k) {
#if ASYNC_BUDGET > 0
    if (x->m.budget) {
        x->m.budget--;
        return 0;
    }
    x->m.t[k].budget_yield = 1;
    x->m.budget_yields++;
    model_m_push_ready(x, k);
    return 1;
#else
    (void)x;
    (void)k;
    return 0;
#endif
}
/* At the wait's resume: was it that yield (then the wait starts now)? */
static inline int model_m_budget_resumed(model_ctx *x, int k) {
    int b = x->m.t[k].budget_yield;
    x->m.t[k].budget_yield = 0;
    return b;
}

static inline int model_m_take_grant(model_ctx *x, int k) {
    int g = x->m.t[k].granted;
    x->m.t[k].granted = 0;
    return g;
}

/* Does an interruption end the wait task k is in, and how?  0: no;
 * ETIMEDOUT: a timeout armed by frame d expired; UNWIND: a cancellation, or
 * a timeout armed by an outer frame.  Nothing crosses a shield (a finally
 * section or a shielded await) entered after the timeout was armed. */
static inline int model_m_intr(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    int i, outer = -1;
    if (t->cancel && t->shield == 0) return MODEL_UNWIND;
    for (i = 0; i < t->nscopes; i++) {
        model_m_scope *sc = &x->m.sc[t->scopes[i]];
        if (sc->state == MODEL_SC_FIRED && !sc->paused && sc->level == t->shield)
            outer = t->scopes[i];
    }
    if (outer < 0) return ASYNC_OK;
    return model_scope_depth(outer) == d ? ASYNC_ETIMEDOUT : MODEL_UNWIND;
}

/* An interruption that takes effect: the task leaves its sleep or wait list
 * and runs.  One that cannot take effect now (shielded) leaves the task
 * where it is, in its place; it takes effect when the shield ends. */
static inline void model_m_interrupt(model_ctx *x, int k) {
    model_m_task *t = &x->m.t[k];
    if (model_m_intr(x, k, -1) == ASYNC_OK) return;
    if (t->where == MODEL_W_SLEEP) {
        model_m_timer_remove(x, k);
        model_m_push_ready(x, k);
    } else if (t->where == MODEL_W_WAIT) {
        model_m_list_remove(x, k);
        model_m_push_ready(x, k);
    }
}

static inline int model_m_cancel(model_ctx *x, int k) {
    model_m_task *t = &x->m.t[k];
    if (!t->live) return 0;
    if (t->cancel) return 1;
    t->cancel = 1;
    model_m_interrupt(x, k);
    return 1;
}

static inline void model_m_arm(model_ctx *x, int k, int d, int slot, uint64_t deadline) {
    model_m_task *t = &x->m.t[k];
    int id = model_scope_id(k, d, slot);
    model_m_scope *sc = &x->m.sc[id];
    sc->level = t->shield;
    sc->state = MODEL_SC_HEAP;
    sc->expired = 0;
    sc->paused = 0;
    sc->deadline = deadline;
    memmove(&t->scopes[1], &t->scopes[0], (size_t)t->nscopes * sizeof t->scopes[0]);
    t->scopes[0] = id;
    t->nscopes++;
    model_m_timer_add(x, MODEL_NT + id, deadline);
}

static inline void model_m_disarm(model_ctx *x, int k, int id) {
    model_m_task *t = &x->m.t[k];
    int i;
    for (i = 0; i < t->nscopes && t->scopes[i] != id; i++) {
    }
    if (i == t->nscopes) return;
    memmove(&t->scopes[i], &t->scopes[i + 1], (size_t)(t->nscopes - i - 1) * sizeof t->scopes[0]);
    t->nscopes--;
    if (x->m.sc[id].state == MODEL_SC_HEAP) model_m_timer_remove(x, MODEL_NT + id);
    x->m.sc[id].state = MODEL_SC_IDLE;
}

static inline void model_m_fire(model_ctx *x, int id) {
    x->m.sc[id].state = MODEL_SC_FIRED;
    x->m.sc[id].expired = 1;
    if (!x->m.sc[id].paused) model_m_interrupt(x, model_scope_task(id));
}

/* Disarm every timeout frame d of task k armed (a generator's sit among its
 * consumer's); d < 0: all of them. */
static inline void model_m_disarm_depth(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    int i = 0;
    while (i < t->nscopes)
        if (d < 0 || model_scope_depth(t->scopes[i]) == d)
            model_m_disarm(x, k, t->scopes[i]);
        else
            i++;
}

/* A generator (frame d) hands out a value: until it runs again, its
 * timeouts cover nothing and a finally section it is in shields nothing;
 * their shield levels are kept relative to where it runs. */
static inline void model_m_gen_leave(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    int i, base;
    if (t->fr[d].fin && x->o.model_bug != MODEL_BUG_GEN_SHIELD) t->shield--;
    base = t->shield;
    if (x->o.model_bug == MODEL_BUG_GEN_SCOPE) return;
    for (i = 0; i < t->nscopes; i++)
        if (model_scope_depth(t->scopes[i]) == d) {
            x->m.sc[t->scopes[i]].paused = 1;
            x->m.sc[t->scopes[i]].level -= base;
        }
}
static inline void model_m_gen_enter(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    int i, base = t->shield;
    for (i = 0; i < t->nscopes; i++)
        if (model_scope_depth(t->scopes[i]) == d && x->m.sc[t->scopes[i]].paused) {
            x->m.sc[t->scopes[i]].paused = 0;
            x->m.sc[t->scopes[i]].level += base;
        }
    if (t->fr[d].fin && x->o.model_bug != MODEL_BUG_GEN_SHIELD) t->shield++;
}

static inline void model_m_frame_reset(model_m_frame *f) { memset(f, 0, sizeof *f); }

static inline void model_m_spawn(model_ctx *x, int k) {
    model_m_task *t = &x->m.t[k];
    t->ever = t->live = 1;
    t->cancel = t->granted = t->shield = t->started = 0;
    t->nscopes = 0;
    t->spawns++;
    model_m_frame_reset(&t->fr[0]);
    x->m.ntasks++;
    model_m_push_ready(x, k);
}

static inline void model_m_finish(model_ctx *x, int k) {
    model_m_list *l = &x->m.lists[MODEL_LTASK(k)];
    model_m_disarm_depth(x, k, -1); /* a generator abandoned at a yield */
    x->m.t[k].where = MODEL_W_DONE;
    x->m.t[k].live = 0;
    x->m.ntasks--;
    if (x->o.model_bug == MODEL_BUG_GROUP_LATE_NOTIFY) { /* wrong on purpose */
        int nodes[MODEL_LCAP], n = 0, i, j;
        for (i = j = 0; i < l->n; i++)
            if (model_is_gnode(l->id[i])) nodes[n++] = l->id[i];
            else l->id[j++] = l->id[i];
        l->n = j;
        for (i = 0; i < l->n; i++)
            if (l->id[i] < MODEL_NT) x->m.t[l->id[i]].peer_cancelled = x->m.t[k].cancel;
        model_m_wake_all(x, MODEL_LTASK(k), 1);
        for (i = 0; i < n; i++) model_m_node_notify(x, nodes[i]);
        return;
    }
    /* Each node in turn, in list order: a task learns this run's outcome
     * with its wake-up; a group's (or a WAIT_TASKS') callback runs at once,
     * and what it does (cancellations, waking the group's waiter) comes
     * before the wake-up of the nodes after it. */
    while (l->n) {
        if (l->id[0] < MODEL_NT) x->m.t[l->id[0]].peer_cancelled = x->m.t[k].cancel;
        else if (model_is_gnode(l->id[0])) x->m.gstat[MODEL_GS_MIDDLE] += l->n > 1;
        model_m_wake_one(x, MODEL_LTASK(k), 1);
    }
}

/* ---- groups (async_group) ---- */

/* A frame starts: a new group, unless members of the last run's are
 * still pending (a generator abandoned at a yield): then it goes on. */
static inline void model_m_group_begin(model_ctx *x, int k, int d) {
    model_m_group *G = &x->m.grp[k][d];
    if (!G->pending) G->n = G->failed = G->error = 0;
    else x->m.gstat[MODEL_GS_TAKEOVER]++;
}

/* async__group_cancel_all: every member still pending.  A member that
 * ended and whose storage was spawned again (as another group's member,
 * say) is not this group's any more and is left alone (MODEL_GS_FOREIGN
 * counts the case: async.h 0.4 cancelled it). */
static inline int model_m_group_cancel_all(model_ctx *x, const model_m_group *G) {
    int i, n = 0;
    for (i = 0; i < G->n; i++) {
        const model_m_task *mt = &x->m.t[G->member[i]];
        if (!mt->live) continue;
        if (G->ended[i]) {
            x->m.gstat[MODEL_GS_FOREIGN] += !mt->cancel;
            continue;
        }
        n += !mt->cancel;
        model_m_cancel(x, G->member[i]);
    }
    return n; /* how many it cancelled */
}

/* async__group_notify: member i of the group of frame (k, d) has finished. */
static inline void model_m_group_notify(model_ctx *x, int wid) {
    int g = (wid - MODEL_WBASE) / MODEL_NT, i = (wid - MODEL_WBASE) % MODEL_NT;
    int gk = g / MODEL_DEPTH, gd = g % MODEL_DEPTH;
    model_m_group *G = &x->m.grp[gk][gd];
    const model_m_task *mt = &x->m.t[G->member[i]];
    G->pending--;
    G->ended[i] = 1;
    if (!G->failed && !mt->cancel && mt->fr[0].result < 0) {
        G->failed = G->member[i] + 1;
        G->error = (int)mt->fr[0].result;
        x->m.gstat[MODEL_GS_FAIL]++;
        if (x->o.model_bug != MODEL_BUG_GROUP_NO_CANCEL)
            x->m.gstat[MODEL_GS_FAIL_CANCEL] += model_m_group_cancel_all(x, G) > 0;
    }
    if (!G->pending) {
        x->m.gstat[MODEL_GS_WAKE] += x->m.lists[MODEL_LGRP(gk, gd)].n > 0;
        model_m_wake_all(x, MODEL_LGRP(gk, gd), 1);
    }
}

/* async_group_spawn of slot a into the group of frame (k, d), once the
 * slot is known to be spawnable: ENOSPC when full; otherwise the task is
 * spawned, the group's node goes at the end of its waiters (first: the
 * task is new), and in a group that has failed the task is cancelled. */
static inline int model_m_group_spawn(model_ctx *x, int k, int d, int a) {
    model_m_group *G = &x->m.grp[k][d];
    model_m_list *l = &x->m.lists[MODEL_LTASK(a)];
    if (G->n == MODEL_GCAP(k)) {
        x->m.gstat[MODEL_GS_FULL]++;
        return ASYNC_ENOSPC;
    }
    model_m_spawn(x, a);
    if (l->n >= MODEL_LCAP) {
        model_fail(x, "model: the waiters of t%d overflow", a);
        return ASYNC_OK;
    }
    l->id[l->n++] = MODEL_WID(k, d, G->n);
    G->ended[G->n] = 0;
    G->member[G->n++] = a;
    G->pending++;
    if (G->failed) {
        x->m.gstat[MODEL_GS_JOIN_FAILED]++;
        model_m_cancel(x, a);
    }
    return ASYNC_OK;
}

static inline int model_m_state(model_ctx *x, int k) {
    return x->m.t[k].live ? ASYNC_PENDING : x->m.t[k].cancel ? ASYNC_CANCELLED : ASYNC_DONE;
}
static inline int model_m_result(model_ctx *x, int k) {
    return x->m.t[k].live || x->m.t[k].cancel ? 0 : (int)x->m.t[k].fr[0].result;
}

/* queues: the model keeps each one's items in the order gets take them, so
 * a put goes at the back (FIFO), the front (LIFO), or behind the items of
 * smaller or equal key (priority: equal keys in put order). */
static inline void model_m_store(model_ctx *x, int q, int v) {
    int *it = x->m.qitem[q], n = x->m.qn[q], pos = n, i;
    if (n >= MODEL_QCAPMAX) {
        model_fail(x, "model: q%d overflows", q);
        return;
    }
    if (x->c->qkind[q] == MODEL_QLIFO) {
        pos = x->o.model_bug == MODEL_BUG_LIFO_OLDEST ? n : 0;
        x->m.xstat[MODEL_XS_LIFO_NEWEST] += n > 0;
    } else if (x->c->qkind[q] == MODEL_QPRIO) {
        for (i = 0; i < n; i++) x->m.xstat[MODEL_XS_PRIO_TIE] += model_qkey(it[i]) == model_qkey(v);
        if (x->o.model_bug == MODEL_BUG_PRIO_UNSTABLE)
            while (pos > 0 && model_qkey(it[pos - 1]) >= model_qkey(v)) pos--;
        else
            while (pos > 0 && model_qkey(it[pos - 1]) > model_qkey(v)) pos--;
    }
    memmove(&it[pos + 1], &it[pos], (size_t)(n - pos) * sizeof(int));
    it[pos] = v;
    x->m.qn[q]++;
}
static inline int model_m_take(model_ctx *x, int q) {
    int v;
    if (x->m.qn[q] <= 0) return 0; /* only with MODEL_BUG_BARGE: item 0 diverges */
    v = x->m.qitem[q][0];
    memmove(&x->m.qitem[q][0], &x->m.qitem[q][1], (size_t)(x->m.qn[q] - 1) * sizeof(int));
    x->m.qn[q]--;
    return v;
}
/* An item or a slot handed to the first waiter is reserved for it. */
static inline void model_m_hand_item(model_ctx *x, int q) {
    if (x->m.qn[q] > x->m.qheld_items[q] && x->m.lists[MODEL_LGET(q)].n) {
        x->m.qheld_items[q]++;
        model_m_wake_one(x, MODEL_LGET(q), 1);
    }
}
static inline void model_m_hand_slot(model_ctx *x, int q) {
    if (x->m.qn[q] + x->m.qheld_slots[q] < x->c->qcap[q] && x->m.lists[MODEL_LPUT(q)].n) {
        x->m.qheld_slots[q]++;
        model_m_wake_one(x, MODEL_LPUT(q), 1);
    }
}
static inline int model_m_items_free(model_ctx *x, int q) { /* gettable by a newcomer */
    if (x->o.model_bug == MODEL_BUG_BARGE) return x->m.qn[q] > 0;
    return x->m.qn[q] > x->m.qheld_items[q];
}

static inline void model_m_sem_release(model_ctx *x, int s) {
    if (!model_m_wake_one(x, MODEL_LSEM(s), 1)) x->m.semv[s]++;
}

/* ---- the lock and its conditions ---- */

/* async_semaphore_release on the lock: the permit goes to its first waiter
 * (held for it until it runs), or back. */
static inline void model_m_lock_pass(model_ctx *x) {
    if (model_m_wake_one(x, MODEL_LLOCK, 1)) x->m.lheld++;
    else x->m.lv++;
}
static inline void model_m_lock_release(model_ctx *x) {
    x->m.lowner = -1;
    model_m_lock_pass(x);
}

/* async_condition_notify: each waiter taken off the condition, first come
 * first, gets the lock if it is free and nobody queues for it; otherwise it
 * queues for the lock behind the others without running (wait morphing):
 * a notified waiter always returns holding the lock. */
static inline void model_m_notify(model_ctx *x, int c, int n) {
    model_m *m = &x->m;
    model_m_list *l = &m->lists[MODEL_LCOND(c)];
    while (n-- > 0 && l->n) {
        int k = l->id[x->o.model_bug == MODEL_BUG_COND_LIFO ? l->n - 1 : 0];
        model_m_list_remove(x, k);
        m->t[k].notified = 1;
        if (m->lv > 0 && !m->lists[MODEL_LLOCK].n) {
            m->lv--;
            m->lheld++;
            m->t[k].granted = 1;
            model_m_push_ready(x, k);
            m->xstat[MODEL_XS_COND_HANDED]++;
        } else {
            model_m_park(x, k, MODEL_LLOCK);
            m->t[k].notified = 1; /* (park clears it) */
            m->xstat[MODEL_XS_COND_MORPH]++;
        }
    }
}

/* A notify op (model_real_notify). */
static inline int model_m_notify_op(model_ctx *x, const model_op *op) {
    int c = model_cond_of(op), v = ++x->m.cval[c];
    model_m_notify(x, c, op->kind == MODEL_CNOTIFY ? 1 + op->d % 2 : MODEL_LCAP);
    return v;
}

/* ---- barriers: abort and reset wake every waiter without a grant ---- */
static inline void model_m_barrier_break(model_ctx *x, int b) {
    x->m.bcount[b] = 0;
    while (x->m.lists[MODEL_LBAR(b)].n) {
        x->m.t[x->m.lists[MODEL_LBAR(b)].id[0]].released = 1;
        model_m_wake_one(x, MODEL_LBAR(b), 0);
    }
}

/* ---- the unbounded queue: FIFO, an item handed to a woken getter kept
 * for it, like async_queue's ---- */
static inline void model_m_lq_hand(model_ctx *x) {
    if (x->m.lists[MODEL_LLQ].n && x->m.lqn > x->m.lqheld) {
        x->m.lqheld++;
        model_m_wake_one(x, MODEL_LLQ, 1);
        x->m.xstat[MODEL_XS_LQ_HANDED]++;
    }
}
static inline int model_m_lq_take(model_ctx *x) {
    int v;
    if (x->m.lqn <= 0) return 0;
    if (x->o.model_bug == MODEL_BUG_LQUEUE_LIFO) return x->m.lqitem[--x->m.lqn];
    v = x->m.lqitem[0];
    memmove(&x->m.lqitem[0], &x->m.lqitem[1], (size_t)(x->m.lqn - 1) * sizeof(int));
    x->m.lqn--;
    return v;
}

/* ---- futures and their done callbacks ---- */
static inline int model_m_fut_status(model_ctx *x, int f) {
    if (x->m.fstate[f] == ASYNC_PENDING) return ASYNC_EAGAIN;
    return x->m.fstate[f] == ASYNC_CANCELLED ? ASYNC_ECANCELED : x->m.ferror[f];
}
/* Set once; then every waiter, tasks and callbacks alike, in list order. */
static inline int model_m_fut_complete(model_ctx *x, int f, int state, int result, int error) {
    model_m *m = &x->m;
    model_m_list *l = &m->lists[MODEL_LFUT(f)];
    int i;
    if (m->fstate[f] != ASYNC_PENDING) return ASYNC_EINVAL;
    m->fstate[f] = state;
    m->fresult[f] = result;
    m->ferror[f] = error;
    for (i = 0; i < l->n; i++) m->xstat[MODEL_XS_FUT_WAKE] += l->id[i] < MODEL_NT;
    if (x->o.model_bug == MODEL_BUG_FUTURE_REVERSE) /* wrong on purpose */
        while (model_m_wake_at(x, MODEL_LFUT(f), l->n - 1, 1)) {
        }
    else
        model_m_wake_all(x, MODEL_LFUT(f), 1);
    return ASYNC_OK;
}
/* Slot k's callback is due: async_call_soon, a timer due now (it runs at
 * the start of the next pass, in timer order). */
static inline void model_m_cb_schedule(model_ctx *x, int k) {
    model_m_timer_add(x, MODEL_TCB(k), x->m.now);
    x->m.cbstate[k] = 2;
    x->m.ncb++;
}

/* ---- WAIT_TASKS (async_wait) ---- */
static inline int model_m_task_failed(model_ctx *x, int j) {
    const model_m_task *t = &x->m.t[j];
    return !t->live && !t->cancel && t->fr[0].result < 0;
}
static inline void model_m_wset_count(model_ctx *x, model_m_wset *W, int j) {
    W->done++;
    if (!W->failed && model_m_task_failed(x, j)) W->failed = j + 1;
}
static inline int model_m_wset_met(model_ctx *x, const model_m_wset *W) {
    int when = W->when;
    if (x->o.model_bug == MODEL_BUG_WAIT_ALL && when == ASYNC_FIRST_COMPLETED)
        when = ASYNC_ALL_COMPLETED; /* wrong on purpose */
    if (when == ASYNC_FIRST_COMPLETED) return W->done > 0 || W->n == 0;
    if (when == ASYNC_FIRST_EXCEPTION && W->failed) return 1;
    return W->done == W->n;
}
/* The op begins: its tasks are fixed (they are an array the caller fills). */
static inline void model_m_wset_begin(model_ctx *x, int k, int d, const model_op *op) {
    model_m_wset *W = &x->m.ws[k][d];
    int j;
    W->n = 0;
    for (j = 0; j < x->c->ntasks; j++)
        if (j != k && x->m.t[j].ever) W->ids[W->n++] = j;
    W->when = ASYNC_FIRST_COMPLETED + op->a;
}
/* async__waitset_park: count what is done (from scratch); if that is not
 * enough, put a node among the waiters of each task still running and park. */
static inline int model_m_wset_park(model_ctx *x, int k, int d) {
    model_m_wset *W = &x->m.ws[k][d];
    int i;
    W->done = W->failed = 0;
    for (i = 0; i < W->n; i++)
        if (!x->m.t[W->ids[i]].live) model_m_wset_count(x, W, W->ids[i]);
    if (model_m_wset_met(x, W)) return ASYNC_OK;
    for (i = 0; i < W->n; i++)
        if (x->m.t[W->ids[i]].live) model_m_list_append(x, MODEL_LTASK(W->ids[i]), MODEL_XID(k, d, i));
    model_m_park(x, k, MODEL_LWS(k, d));
    return MODEL_AGAIN;
}
/* A watched task finished (its node is off its list): count it, and wake
 * the waiter once the condition is met.  Nodes of the other tasks stay
 * until the waiter runs, and count what finishes meanwhile. */
static inline void model_m_wset_notify(model_ctx *x, int id) {
    int g = (id - MODEL_XBASE) / MODEL_NT, i = (id - MODEL_XBASE) % MODEL_NT;
    int k = g / MODEL_DEPTH, d = g % MODEL_DEPTH;
    model_m_wset *W = &x->m.ws[k][d];
    model_m_wset_count(x, W, W->ids[i]);
    if (model_m_wset_met(x, W)) model_m_wake_all(x, MODEL_LWS(k, d), 1);
}
/* async__waitset_resume: take the nodes back; interrupted: that status
 * (the sets as they are); else count again (met, or wait on). */
static inline int model_m_wset_resume(model_ctx *x, int k, int d) {
    model_m_wset *W = &x->m.ws[k][d];
    int i, r;
    model_m_take_grant(x, k);
    for (i = 0; i < W->n; i++) model_m_list_drop(x, MODEL_LTASK(W->ids[i]), MODEL_XID(k, d, i));
    r = model_m_intr(x, k, d);
    if (r != ASYNC_OK) return r;
    return model_m_wset_park(x, k, d);
}

/* A node that is not a task has been woken: a group member's, a WAIT_TASKS
 * node's callback runs now; a done callback is scheduled. */
static inline void model_m_node_notify(model_ctx *x, int id) {
    if (model_is_gnode(id)) model_m_group_notify(x, id);
    else if (model_is_xnode(id)) model_m_wset_notify(x, id);
    else model_m_cb_schedule(x, id - MODEL_CBBASE);
}

static inline int model_m_outcome(model_ctx *x, int k) {
    return x->m.t[k].cancel ? ASYNC_ECANCELED : ASYNC_OK;
}

static inline int model_m_wait_start(model_ctx *x, int k, int d, const model_op *op) {
    model_m_task *t = &x->m.t[k];
    model_m_frame *F = &t->fr[d];
    int r, a = op->a;
    if (op->kind == MODEL_YIELD) {
        model_m_push_ready(x, k);
        return MODEL_AGAIN;
    }
    r = model_m_intr(x, k, d);
    if (r != ASYNC_OK) return r;
    switch (op->kind) {
    case MODEL_SLEEP:
        if (op->d == 0) { /* a yield */
            t->deadline = 0;
            model_m_push_ready(x, k);
        } else {
            t->deadline = x->m.now + (uint64_t)op->d * MODEL_SECOND;
            model_m_timer_add(x, k, t->deadline);
        }
        return MODEL_AGAIN;
    case MODEL_AWAIT:
        if (!x->m.t[a].live) return model_m_outcome(x, a);
        model_m_park(x, k, MODEL_LTASK(a));
        return MODEL_AGAIN;
    case MODEL_PUT:
        if (x->m.qclosed[a]) return ASYNC_ECLOSED;
        if (x->m.qn[a] + x->m.qheld_slots[a] < x->c->qcap[a] && !x->m.lists[MODEL_LPUT(a)].n) {
            model_m_store(x, a, F->item);
            model_m_hand_item(x, a);
            return ASYNC_OK;
        }
        model_m_park(x, k, MODEL_LPUT(a));
        return MODEL_AGAIN;
    case MODEL_GET:
        if (model_m_items_free(x, a) && !x->m.lists[MODEL_LGET(a)].n) {
            F->got = model_m_take(x, a);
            model_m_hand_slot(x, a);
            return ASYNC_OK;
        }
        if (x->m.qclosed[a] && !model_m_items_free(x, a)) return ASYNC_ECLOSED;
        model_m_park(x, k, MODEL_LGET(a));
        return MODEL_AGAIN;
    case MODEL_EWAIT:
        if (x->m.eset[a]) return ASYNC_OK;
        model_m_park(x, k, MODEL_LEV(a));
        return MODEL_AGAIN;
    case MODEL_LACQ: /* the lock's semaphore */
        if (x->m.lv > 0 && !x->m.lists[MODEL_LLOCK].n) {
            x->m.lv--;
            return ASYNC_OK;
        }
        model_m_park(x, k, MODEL_LLOCK);
        return MODEL_AGAIN;
    case MODEL_CWAIT: /* the wait on the condition itself: the lock goes */
        model_m_lock_release(x);
        model_m_park(x, k, MODEL_LCOND(a));
        return MODEL_AGAIN;
    case MODEL_BWAIT:
        if (x->m.bbroken[a]) return ASYNC_EBROKEN;
        F->bidx = x->m.bcount[a];
        if (++x->m.bcount[a] < x->c->bparties[a] - (x->o.model_bug == MODEL_BUG_BARRIER_EARLY)) {
            model_m_park(x, k, MODEL_LBAR(a));
            return MODEL_AGAIN;
        }
        x->m.bcount[a] = 0; /* the last one: every waiter passes */
        x->m.xstat[MODEL_XS_BAR_TRIP] += x->c->bparties[a] > 1;
        model_m_wake_all(x, MODEL_LBAR(a), 1);
        return ASYNC_OK;
    case MODEL_LQGET:
        if (x->m.lqn > x->m.lqheld && !x->m.lists[MODEL_LLQ].n) {
            F->got = model_m_lq_take(x);
            return ASYNC_OK;
        }
        if (x->m.lqclosed && x->m.lqn <= x->m.lqheld) return ASYNC_ECLOSED;
        model_m_park(x, k, MODEL_LLQ);
        return MODEL_AGAIN;
    case MODEL_FAWAIT:
        if (x->m.fstate[a] != ASYNC_PENDING) return model_m_fut_status(x, a);
        model_m_park(x, k, MODEL_LFUT(a));
        return MODEL_AGAIN;
    case MODEL_WAITT: return model_m_wset_park(x, k, d);
    default: /* MODEL_SACQ */
        if (x->m.semv[a] > 0 && !x->m.lists[MODEL_LSEM(a)].n) {
            x->m.semv[a]--;
            return ASYNC_OK;
        }
        model_m_park(x, k, MODEL_LSEM(a));
        return MODEL_AGAIN;
    }
}

static inline int model_m_wait_resume(model_ctx *x, int k, int d, const model_op *op) {
    model_m_task *t = &x->m.t[k];
    model_m_frame *F = &t->fr[d];
    int r = model_m_intr(x, k, d), a = op->a, g;
    switch (op->kind) {
    case MODEL_YIELD: return r;
    case MODEL_SLEEP:
        if (r != ASYNC_OK) return r;
        if (t->deadline > x->m.now) {
            model_m_timer_add(x, k, t->deadline);
            return MODEL_AGAIN;
        }
        return ASYNC_OK;
    case MODEL_AWAIT:
        /* woken by the awaited task's finish: that run's outcome, even if
         * the slot has been spawned again since */
        g = model_m_take_grant(x, k);
        if (g && r == ASYNC_OK && x->o.model_bug != MODEL_BUG_REWAIT)
            return t->peer_cancelled ? ASYNC_ECANCELED : ASYNC_OK;
        if (r != ASYNC_OK) return r;
        if (!x->m.t[a].live) return model_m_outcome(x, a);
        model_m_park(x, k, MODEL_LTASK(a));
        return MODEL_AGAIN;
    case MODEL_PUT:
        if (model_m_take_grant(x, k)) { /* a slot was reserved for us */
            x->m.qheld_slots[a]--;
            if (r != ASYNC_OK || x->m.qclosed[a]) {
                model_m_hand_slot(x, a); /* pass it on */
                return r != ASYNC_OK ? r : ASYNC_ECLOSED;
            }
            model_m_store(x, a, F->item);
            model_m_hand_item(x, a);
            return ASYNC_OK;
        }
        if (r != ASYNC_OK) return r;
        if (x->m.qclosed[a]) return ASYNC_ECLOSED;
        model_m_park(x, k, MODEL_LPUT(a));
        return MODEL_AGAIN;
    case MODEL_GET:
        if (model_m_take_grant(x, k)) { /* an item was reserved for us */
            x->m.qheld_items[a]--;
            if (r != ASYNC_OK) {
                model_m_hand_item(x, a); /* pass it on */
                return r;
            }
            F->got = model_m_take(x, a);
            model_m_hand_slot(x, a);
            return ASYNC_OK;
        }
        if (r != ASYNC_OK) return r;
        if (model_m_items_free(x, a)) { /* woken by close: drain */
            F->got = model_m_take(x, a);
            model_m_hand_slot(x, a);
            return ASYNC_OK;
        }
        if (x->m.qclosed[a]) return ASYNC_ECLOSED;
        model_m_park(x, k, MODEL_LGET(a));
        return MODEL_AGAIN;
    case MODEL_EWAIT:
        g = model_m_take_grant(x, k);
        if (r != ASYNC_OK) return r;
        if (g || x->m.eset[a]) return ASYNC_OK;
        model_m_park(x, k, MODEL_LEV(a));
        return MODEL_AGAIN;
    case MODEL_LACQ:
        if (model_m_take_grant(x, k)) { /* the lock was handed over */
            x->m.lheld--;
            if (r == MODEL_UNWIND) {
                model_m_lock_pass(x); /* leaving: pass it on */
                return r;
            }
            return ASYNC_OK; /* a timeout shows at the next wait */
        }
        if (r != ASYNC_OK) return r;
        model_m_park(x, k, MODEL_LLOCK);
        return MODEL_AGAIN;
    case MODEL_CWAIT:
        /* the lock first, whatever woke us (a notify handing it over, or an
         * interruption: then queue for it, at the back); then the status */
        if (model_m_take_grant(x, k)) {
            x->m.lheld--;
        } else if (x->o.model_bug == MODEL_BUG_COND_UNLOCKED && r != ASYNC_OK) {
            return r; /* wrong on purpose */
        } else if (x->m.lv > 0 && !x->m.lists[MODEL_LLOCK].n) {
            x->m.lv--;
        } else {
            int notified = x->m.t[k].notified;
            x->m.xstat[MODEL_XS_COND_RELOCK] += r != ASYNC_OK;
            model_m_park(x, k, MODEL_LLOCK);
            x->m.t[k].notified = notified;
            return MODEL_AGAIN;
        }
        x->m.lowner = k;
        /* notified, then interrupted: the notification passes on */
        if (x->m.t[k].notified && r != ASYNC_OK && x->o.model_bug != MODEL_BUG_COND_LOST)
            model_m_notify(x, a, 1);
        x->m.t[k].notified = 0;
        return r;
    case MODEL_BWAIT:
        if (model_m_take_grant(x, k)) /* passed; an interruption shows at the next wait */
            return r == MODEL_UNWIND ? r : ASYNC_OK;
        if (x->m.t[k].released) { /* aborted or reset: no longer counted */
            x->m.t[k].released = 0;
            if (r != ASYNC_OK && x->o.model_bug == MODEL_BUG_BAR_STALE && x->m.bcount[a] > 0)
                x->m.bcount[a]--; /* wrong on purpose: async.h 0.5 did */
            x->m.xstat[MODEL_XS_BAR_STALE] += r != ASYNC_OK;
            if (r != ASYNC_OK) return r;
            x->m.xstat[MODEL_XS_BAR_BROKEN]++;
            return ASYNC_EBROKEN;
        }
        if (r != ASYNC_OK) { /* cut short: leaves the barrier (not a new
                              * round's count: async.h 0.5 did, seed 8913) */
            if (x->m.bcount[a] > 0) x->m.bcount[a]--;
            x->m.xstat[MODEL_XS_BAR_LEAVE]++;
        }
        return r;
    case MODEL_LQGET:
        if (model_m_take_grant(x, k)) { /* an item was kept for us */
            x->m.lqheld--;
            if (r != ASYNC_OK) {
                model_m_lq_hand(x); /* pass it on */
                return r;
            }
            F->got = model_m_lq_take(x);
            return ASYNC_OK;
        }
        if (r != ASYNC_OK) return r;
        if (x->m.lqn > x->m.lqheld) { /* woken by close: drain */
            F->got = model_m_lq_take(x);
            return ASYNC_OK;
        }
        if (x->m.lqclosed) return ASYNC_ECLOSED;
        model_m_park(x, k, MODEL_LLQ);
        return MODEL_AGAIN;
    case MODEL_FAWAIT:
        model_m_take_grant(x, k);
        if (r != ASYNC_OK) return r;
        if (x->m.fstate[a] != ASYNC_PENDING) return model_m_fut_status(x, a);
        model_m_park(x, k, MODEL_LFUT(a));
        return MODEL_AGAIN;
    case MODEL_WAITT: return model_m_wset_resume(x, k, d);
    default: /* MODEL_SACQ */
        if (model_m_take_grant(x, k)) { /* the permit was handed over */
            if (r == MODEL_UNWIND) {
                model_m_sem_release(x, a); /* leaving: pass it on */
                return r;
            }
            return ASYNC_OK; /* a timeout shows at the next wait */
        }
        if (r != ASYNC_OK) return r;
        model_m_park(x, k, MODEL_LSEM(a));
        return MODEL_AGAIN;
    }
}

/* The op frame d of task k is at (the group wait that ends its finally
 * section lies one past the last op). */
static inline const model_op *model_m_cur_op(const model_ctx *x, int k, int d) {
    const model_m_frame *F = &x->m.t[k].fr[d];
    return F->endwait ? &model_op_end_gwait : model_op_at(x->c, k, d, F->sec, F->idx);
}

static inline void model_m_op(model_ctx *x, int k, int d, int st, int value, int expired, int aux) {
    model_m_frame *F = &x->m.t[k].fr[d];
    const model_op *op = model_m_cur_op(x, k, d);
    model_push(x, 0, MODEL_EV_OP, k, d, F->sec, F->idx, op->kind, st, value, expired, aux);
}

static inline void model_m_plain(model_ctx *x, int k, int d, const model_op *op) {
    model_m *m = &x->m;
    int a = op->a, rc = ASYNC_OK, v = 0, aux = 0;
    switch (op->kind) {
    case MODEL_SPAWN:
        if (m->t[a].live) rc = MODEL_BUSY;
        else if (m->t[a].spawns >= MODEL_MAXSPAWN) rc = MODEL_SKIP;
        else model_m_spawn(x, a);
        break;
    case MODEL_GSPAWN:
        if (m->t[a].live) rc = MODEL_BUSY;
        else if (m->t[a].spawns >= MODEL_MAXSPAWN) rc = MODEL_SKIP;
        else rc = model_m_group_spawn(x, k, d, a);
        v = m->grp[k][d].n;
        aux = m->grp[k][d].pending;
        break;
    case MODEL_CANCEL: rc = m->t[a].ever ? model_m_cancel(x, a) : MODEL_SKIP; break;
    case MODEL_TRYPUT:
        v = ++m->next_item;
        if (m->qclosed[a]) rc = ASYNC_ECLOSED;
        else if (m->qn[a] + m->qheld_slots[a] >= x->c->qcap[a]) rc = ASYNC_EAGAIN;
        else {
            model_m_store(x, a, v);
            model_m_hand_item(x, a);
        }
        break;
    case MODEL_TRYGET:
        if (!model_m_items_free(x, a)) rc = m->qclosed[a] ? ASYNC_ECLOSED : ASYNC_EAGAIN;
        else {
            v = model_m_take(x, a);
            model_m_hand_slot(x, a);
        }
        break;
    case MODEL_CLOSE:
        m->qclosed[a] = 1;
        model_m_wake_all(x, MODEL_LGET(a), 0);
        model_m_wake_all(x, MODEL_LPUT(a), 0);
        break;
    case MODEL_ESET:
        m->eset[a] = 1;
        if (x->o.model_bug == MODEL_BUG_EVENT_ORDER) { /* wrong on purpose: newest first */
            model_m_list *l = &m->lists[MODEL_LEV(a)];
            while (l->n) {
                int w = l->id[l->n - 1];
                model_m_list_remove(x, w);
                m->t[w].granted = 1;
                model_m_push_ready(x, w);
            }
        } else {
            model_m_wake_all(x, MODEL_LEV(a), 1);
        }
        break;
    case MODEL_ECLEAR: m->eset[a] = 0; break;
    case MODEL_RECYCLE:
        if (m->lists[MODEL_LGET(a)].n || m->lists[MODEL_LPUT(a)].n ||
            (x->o.model_bug != MODEL_BUG_RECYCLE && (m->qheld_items[a] || m->qheld_slots[a]))) {
            rc = MODEL_MISUSE;
        } else {
            m->qn[a] = m->qheld_items[a] = m->qheld_slots[a] = m->qclosed[a] = 0;
        }
        break;
    case MODEL_SREL: model_m_sem_release(x, a); break;
    case MODEL_STRY:
        if (m->semv[a] > 0 && !m->lists[MODEL_LSEM(a)].n) m->semv[a]--;
        else rc = ASYNC_EAGAIN;
        break;
    case MODEL_LREL:
        if (m->lowner != k) rc = MODEL_SKIP;
        else model_m_lock_release(x);
        break;
    case MODEL_CNOTIFY: case MODEL_CNOTIFYALL: v = model_m_notify_op(x, op); break;
    case MODEL_BABORT:
        m->bbroken[a] = 1;
        model_m_barrier_break(x, a);
        break;
    case MODEL_BRESET:
        model_m_barrier_break(x, a);
        m->bbroken[a] = 0;
        break;
    case MODEL_LQPUT:
        v = ++m->next_item;
        if (v >= MODEL_MAXITEMS || m->lqn >= MODEL_LQMAX) rc = MODEL_SKIP;
        else if (m->lqclosed) rc = ASYNC_ECLOSED;
        else {
            m->lqitem[m->lqn++] = v;
            model_m_lq_hand(x);
        }
        break;
    case MODEL_LQTRY:
        if (m->lqn <= m->lqheld) rc = m->lqclosed ? ASYNC_ECLOSED : ASYNC_EAGAIN;
        else v = model_m_lq_take(x);
        break;
    case MODEL_LQCLOSE:
        m->lqclosed = 1;
        model_m_wake_all(x, MODEL_LLQ, 0);
        break;
    case MODEL_FSET:
        v = model_fset_value(k, d, m->t[k].fr[d].idx);
        rc = model_m_fut_complete(x, a, ASYNC_DONE, v, 0);
        break;
    case MODEL_FERR: rc = model_m_fut_complete(x, a, ASYNC_DONE, 0, model_ferr_code(op)); break;
    case MODEL_FCANCEL: rc = model_m_fut_complete(x, a, ASYNC_CANCELLED, 0, 0) == ASYNC_OK; break;
    case MODEL_FRENEW:
        if (m->lists[MODEL_LFUT(a)].n) {
            rc = MODEL_MISUSE;
        } else {
            m->fstate[a] = ASYNC_PENDING;
            m->fresult[a] = m->ferror[a] = 0;
        }
        break;
    case MODEL_FCB: /* one callback per slot: skipped while in use */
        if (m->cbstate[k]) {
            rc = MODEL_SKIP;
            break;
        }
        m->cbfut[k] = a;
        if (m->fstate[a] != ASYNC_PENDING) { /* done: scheduled at once */
            model_m_cb_schedule(x, k);
        } else {
            model_m_list_append(x, MODEL_LFUT(a), MODEL_CBID(k));
            m->cbstate[k] = 1;
        }
        break;
    case MODEL_FCBREM:
        if (m->cbstate[k] == 1) {
            model_m_list_drop(x, MODEL_LFUT(m->cbfut[k]), MODEL_CBID(k));
            rc = 1;
        } else if (m->cbstate[k] == 2) {
            model_m_timer_remove(x, MODEL_TCB(k));
            m->ncb--;
            rc = 1;
        } else {
            rc = 0;
        }
        m->cbstate[k] = 0;
        break;
    default: rc = MODEL_SKIP; break;
    }
    model_m_op(x, k, d, rc, v, -1, aux);
}

/* WAIT_TASKS ends: its status, ws.done, which tasks are done and the first
 * failure it saw (model_real_wait_aux). */
static inline void model_m_wset_report(model_ctx *x, int k, int d, int st, int expired) {
    const model_m_wset *W = &x->m.ws[k][d];
    int i, aux = 0, pending = 0;
    for (i = 0; i < W->n; i++) {
        if (!x->m.t[W->ids[i]].live) aux |= 1 << W->ids[i];
        else pending++;
    }
    if (st == ASYNC_ETIMEDOUT) x->m.xstat[MODEL_XS_WAIT_TMO]++;
    else if (st == ASYNC_OK && pending && W->when == ASYNC_FIRST_COMPLETED)
        x->m.xstat[MODEL_XS_WAIT_FIRST]++;
    else if (st == ASYNC_OK && pending && W->failed && W->when == ASYNC_FIRST_EXCEPTION)
        x->m.xstat[MODEL_XS_WAIT_EXC]++;
    model_m_op(x, k, d, st, W->done, expired, aux | W->failed << 8);
}

/* One ASYNC__WAIT: its start (after the budget's yield, if spent), or
 * (resumed) what follows a wake-up. */
static inline int model_m_wait1(model_ctx *x, int k, int d, const model_op *op, int resumed) {
    if (!resumed) return model_m_budget_yield(x, k) ? MODEL_AGAIN : model_m_wait_start(x, k, d, op);
    if (model_m_budget_resumed(x, k)) return model_m_wait_start(x, k, d, op);
    return model_m_wait_resume(x, k, d, op);
}

/* COND_WAIT(_FOR) and a locked notify as MODEL__COND runs them.  cstage 0:
 * take the lock (1: in that wait); 2: notify, or (WAIT_FOR: test the
 * predicate, then) wait on the condition (3: in that wait).  A status,
 * MODEL_AGAIN or MODEL_UNWIND. */
static inline int model_m_cond_run(model_ctx *x, int k, int d, const model_op *op) {
    model_m_frame *F = &x->m.t[k].fr[d];
    model_op w;
    int st;
    memset(&w, 0, sizeof w);
    w.a = (uint8_t)model_cond_of(op);
    for (;;) {
        if (F->cstage <= 1) {
            w.kind = MODEL_LACQ;
            st = model_m_wait1(x, k, d, &w, F->cstage == 1);
            if (st == MODEL_AGAIN) F->cstage = 1;
            if (st == MODEL_AGAIN || st == MODEL_UNWIND) return st;
            F->lst = st;
            if (st != ASYNC_OK) return st; /* no lock: no wait */
            x->m.lowner = k;
            F->cstage = 2;
        }
        if (F->cstage == 2 && (op->kind == MODEL_CNOTIFY || op->kind == MODEL_CNOTIFYALL)) {
            model_m_notify_op(x, op);
            st = ASYNC_OK;
            break;
        }
        if (F->cstage == 2 && op->kind == MODEL_CWAITFOR &&
            x->m.cval[model_cond_of(op)] >= F->target) {
            st = ASYNC_OK;
            break;
        }
        w.kind = MODEL_CWAIT;
        st = model_m_wait1(x, k, d, &w, F->cstage == 3);
        if (st == MODEL_AGAIN) F->cstage = 3;
        if (st == MODEL_AGAIN || st == MODEL_UNWIND) return st;
        F->cstage = 2;
        if (op->kind == MODEL_CWAIT || st != ASYNC_OK) break;
    }
    if (!F->own) model_m_lock_release(x);
    return st;
}

enum { MODEL_X_NEXT = 0, MODEL_X_SUSPEND, MODEL_X_EXIT, MODEL_X_YIELD };
enum { MODEL_F_SUSPENDED = 0, MODEL_F_FINISHED, MODEL_F_YIELDED };

/* async_gather_fn as the model sees it: await each task in turn; when
 * interrupted (or done), cancel those from the current one on and await
 * each of them in the shielded finally; then count the cancelled. */
static inline int model_m_run_gather(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    model_m_gather *g = &t->ga;
    model_op aw;
    int st;
    memset(&aw, 0, sizeof aw);
    aw.kind = MODEL_AWAIT;
    for (;;) {
        if (g->i >= g->n && !g->fin) st = ASYNC_OK; /* the body is done */
        else if (g->i >= g->n) {
            int j;
            for (j = 0, g->cancelled = 0; j < g->n; j++)
                g->cancelled += model_m_state(x, g->ids[j]) == ASYNC_CANCELLED;
            t->shield--; /* its frame ends; it armed no timeout */
            return MODEL_F_FINISHED;
        } else {
            aw.a = (uint8_t)g->ids[g->i];
            if (!g->phase && model_m_budget_yield(x, k)) {
                g->phase = 1;
                return MODEL_F_SUSPENDED;
            }
            st = g->phase && !model_m_budget_resumed(x, k) ? model_m_wait_resume(x, k, d, &aw)
                                                           : model_m_wait_start(x, k, d, &aw);
            if (st == MODEL_AGAIN) {
                g->phase = 1;
                return MODEL_F_SUSPENDED;
            }
            g->phase = 0;
            if (st != MODEL_UNWIND) {
                g->i++;
                continue;
            }
        }
        /* into the finally section: normally, or unwinding */
        if (!g->fin) {
            int j;
            g->fin = 1;
            t->shield++;
            for (j = g->i; j < g->n; j++) model_m_cancel(x, g->ids[j]);
            if (x->o.model_bug == MODEL_BUG_GATHER_EARLY) g->i = g->n;
        }
    }
}

/* async_group_wait_fn on the group of frame (k, d), as the model sees it:
 * wait until nothing is pending; then the finally section: if interrupted
 * (members still pending), cancel them all and wait, shielded, until every
 * one has finished; a failure makes the status ECANCELED. */
static inline int model_m_run_gwait(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    model_m_gwait *w = &t->gw;
    model_m_group *G = &x->m.grp[k][d];
    int st;
    for (;;) {
        if (w->phase == 0 && w->fin == 1) { /* the finally section begins */
            w->fin = 2;
            if (G->pending) {
                x->m.gstat[t->cancel && t->shield == 1 ? MODEL_GS_INTR_CANCEL : MODEL_GS_INTR_TMO]++;
                model_m_group_cancel_all(x, G);
                if (x->o.model_bug == MODEL_BUG_GROUP_EARLY) w->fin = 3;
            }
        }
        if (w->phase == 0 && w->fin >= 2 && (!G->pending || w->fin == 3)) {
            if (G->failed) w->status = ASYNC_ECANCELED;
            t->shield--; /* its frame ends; it armed no timeout */
            return MODEL_F_FINISHED;
        }
        /* one wait (async__group_start, at its start and every resume);
         * the group's frame armed nothing: MODEL_DEPTH matches no timeout */
        if (w->phase == 0 && model_m_budget_yield(x, k)) {
            w->phase = 1;
            return MODEL_F_SUSPENDED;
        }
        if (w->phase) model_m_budget_resumed(x, k);
        st = model_m_intr(x, k, MODEL_DEPTH);
        if (st == ASYNC_OK && G->pending) {
            model_m_park(x, k, MODEL_LGRP(k, d));
            w->phase = 1;
            return MODEL_F_SUSPENDED;
        }
        w->phase = 0;
        w->status = st;
        if (w->fin) {
            if (st == MODEL_UNWIND) { /* leaves its finally section early */
                t->shield--;
                return MODEL_F_FINISHED;
            }
            continue;
        }
        w->fin = 1; /* done or interrupted: into the finally section */
        t->shield++;
    }
}

static inline int model_m_run_frame(model_ctx *x, int k, int d);

/* Run (or resume) the op frame d of task k is at. */
static inline int model_m_exec(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    model_m_frame *F = &t->fr[d];
    const model_op *op = model_m_cur_op(x, k, d);
    int st, expired;
    if (model_is_locked(op->kind, op->a)) {
        int id = model_scope_id(k, d, 2 + F->sec);
        if (F->phase == 0) {
            F->own = x->m.lowner == k;
            F->lst = ASYNC_OK;
            F->target = x->m.cval[model_cond_of(op)] + op->d % 3;
            F->cstage = F->own ? 2 : 0;
            if (op->tmo)
                model_m_arm(x, k, d, 2 + F->sec,
                            x->m.now + (uint64_t)(op->tmo - 1) * MODEL_SECOND);
            F->phase = 1;
        }
        st = model_m_cond_run(x, k, d, op);
        if (st == MODEL_AGAIN) return MODEL_X_SUSPEND;
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        expired = -1;
        if (op->tmo) {
            model_m_disarm(x, k, id);
            expired = x->m.sc[id].expired;
        }
        model_m_op(x, k, d, st, F->lst, expired, 10 * F->own + (x->m.lowner == k));
        return MODEL_X_NEXT;
    }
    if (model_is_wait(op->kind)) {
        if (F->phase == 0) {
            if ((op->kind == MODEL_AWAIT && (op->a == k || !x->m.t[op->a].ever)) ||
                (op->kind == MODEL_LACQ && x->m.lowner == k)) {
                model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
                return MODEL_X_NEXT;
            }
            if (op->kind == MODEL_PUT) F->item = ++x->m.next_item;
            if (op->kind == MODEL_WAITT) model_m_wset_begin(x, k, d, op);
            F->got = 0;
            if (op->tmo)
                model_m_arm(x, k, d, 2 + F->sec,
                            x->m.now + (uint64_t)(op->tmo - 1) * MODEL_SECOND);
            if (op->kind != MODEL_YIELD && model_m_budget_yield(x, k)) st = MODEL_AGAIN;
            else st = model_m_wait_start(x, k, d, op);
        } else if (op->kind != MODEL_YIELD && model_m_budget_resumed(x, k)) {
            st = model_m_wait_start(x, k, d, op);
        } else {
            st = model_m_wait_resume(x, k, d, op);
        }
        if (st == MODEL_AGAIN) {
            F->phase = 1;
            return MODEL_X_SUSPEND;
        }
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        expired = -1;
        if (op->tmo) {
            int id = model_scope_id(k, d, 2 + F->sec);
            model_m_disarm(x, k, id);
            expired = x->m.sc[id].expired;
        }
        if (op->kind == MODEL_LACQ && st == ASYNC_OK) x->m.lowner = k; /* ASYNC_LOCK_ACQUIRE */
        if (op->kind == MODEL_PUT) model_m_op(x, k, d, st, F->item, expired, 0);
        else if (op->kind == MODEL_GET || op->kind == MODEL_LQGET)
            model_m_op(x, k, d, st, F->got, expired, 0);
        else if (op->kind == MODEL_AWAIT)
            model_m_op(x, k, d, st, model_m_result(x, op->a), expired, model_m_state(x, op->a));
        else if (op->kind == MODEL_LACQ) model_m_op(x, k, d, st, 0, expired, x->m.lowner == k);
        else if (op->kind == MODEL_BWAIT)
            model_m_op(x, k, d, st, st == ASYNC_OK ? F->bidx : -1, expired, 0);
        else if (op->kind == MODEL_FAWAIT) model_m_op(x, k, d, st, x->m.fresult[op->a], expired, 0);
        else if (op->kind == MODEL_WAITT) model_m_wset_report(x, k, d, st, expired);
        else model_m_op(x, k, d, st, 0, expired, 0);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_YIELDV) {
        if (F->phase == 0) {
            F->result = model_yield_value(k, d, F->idx);
            model_m_gen_leave(x, k, d);
            F->phase = 3;
            if (d > 0) return MODEL_X_YIELD;
            model_m_push_ready(x, k); /* a task frame: the loop takes it back */
            return MODEL_X_SUSPEND;
        }
        model_m_gen_enter(x, k, d);
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        model_m_op(x, k, d, st, 0, -1, 0);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_GATHER) {
        int id = model_scope_id(k, d, 2 + F->sec);
        if (F->phase == 0) {
            int j;
            memset(&t->ga, 0, sizeof t->ga);
            for (j = 0; j < x->c->ntasks; j++)
                if (j != k && x->m.t[j].ever) t->ga.ids[t->ga.n++] = j;
            if (op->tmo)
                model_m_arm(x, k, d, 2 + F->sec,
                            x->m.now + (uint64_t)(op->tmo - 1) * MODEL_SECOND);
            F->phase = 2;
        }
        if (model_m_run_gather(x, k, d + 1) == MODEL_F_SUSPENDED) return MODEL_X_SUSPEND;
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        expired = -1;
        if (op->tmo) {
            model_m_disarm(x, k, id);
            expired = x->m.sc[id].expired;
        }
        model_m_op(x, k, d, st, t->ga.cancelled, expired, t->ga.n);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_GWAIT) {
        int id = model_scope_id(k, d, 2 + F->sec), j, ndone = 0;
        model_m_group *G = &x->m.grp[k][d];
        if (F->phase == 0) {
            memset(&t->gw, 0, sizeof t->gw);
            if (op->tmo)
                model_m_arm(x, k, d, 2 + F->sec,
                            x->m.now + (uint64_t)(op->tmo - 1) * MODEL_SECOND);
            F->phase = 2;
        }
        if (model_m_run_gwait(x, k, d) == MODEL_F_SUSPENDED) return MODEL_X_SUSPEND;
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        if (st == ASYNC_OK) st = t->gw.status; /* ASYNC_GROUP_WAIT: the group's */
        expired = -1;
        if (op->tmo) {
            model_m_disarm(x, k, id);
            expired = x->m.sc[id].expired;
        }
        for (j = 0; j < G->n; j++) ndone += !x->m.t[G->member[j]].live;
        model_m_op(x, k, d, st, G->error, expired,
                   model_group_aux(G->failed, G->n, ndone, G->pending));
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_NEXT) {
        model_m_frame *C = &t->fr[d + 1 < MODEL_DEPTH ? d + 1 : d];
        int r;
        if (F->phase == 0) {
            if (d + 1 >= MODEL_DEPTH) {
                model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
                return MODEL_X_NEXT;
            }
            if (!F->gen) {
                model_m_frame_reset(C);
                F->gen = 1;
            }
            F->phase = 2;
        }
        r = C->done ? MODEL_F_FINISHED : model_m_run_frame(x, k, d + 1);
        if (r == MODEL_F_SUSPENDED) return MODEL_X_SUSPEND;
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT; /* gen stays set, as in async.h */
        if (C->done) F->gen = 0;
        if (st == ASYNC_OK && r == MODEL_F_FINISHED) st = ASYNC_EXHAUSTED;
        model_m_op(x, k, d, st, st == ASYNC_OK ? (int)C->result : 0, -1, 0);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_GCLOSE) {
        model_m_frame *C = &t->fr[d + 1 < MODEL_DEPTH ? d + 1 : d];
        int r;
        if (F->phase == 0) {
            if (d + 1 >= MODEL_DEPTH || !F->gen || C->done) {
                model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
                return MODEL_X_NEXT;
            }
            if (!C->fin) { /* at a yield in its body: it goes to its finally */
                model_m_gen_enter(x, k, d + 1);
                C->fin = 1;
                t->shield++;
                C->sec = 1;
                C->idx = 0;
                C->phase = 0;
                model_push(x, 0, MODEL_EV_FIN, k, d + 1, 1, 0, 0, t->cancel, (int)C->result, 0, 0);
            }
            F->phase = 2;
        }
        do r = model_m_run_frame(x, k, d + 1); /* values it yields are dropped */
        while (r == MODEL_F_YIELDED);
        if (r == MODEL_F_SUSPENDED) return MODEL_X_SUSPEND;
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        F->gen = 0;
        model_m_op(x, k, d, st, 0, -1, 0);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_CALL || op->kind == MODEL_WAITFOR) {
        int id = model_scope_id(k, d, 2 + F->sec), r;
        if (F->phase == 0) {
            if (d + 1 < MODEL_DEPTH && F->gen && !t->fr[d + 1].done) {
                model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0); /* a suspended generator */
                return MODEL_X_NEXT;
            }
            F->gen = 0;
            if (d + 1 >= MODEL_DEPTH) {
                model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
                return MODEL_X_NEXT;
            }
            if (op->kind == MODEL_WAITFOR)
                model_m_arm(x, k, d, 2 + F->sec, x->m.now + (uint64_t)op->d * MODEL_SECOND);
            model_m_frame_reset(&t->fr[d + 1]);
            if (op->kind == MODEL_CALL && op->a) t->shield++;
            F->phase = 2;
        }
        do r = model_m_run_frame(x, k, d + 1); /* values it yields are dropped */
        while (r == MODEL_F_YIELDED);
        if (r == MODEL_F_SUSPENDED) return MODEL_X_SUSPEND;
        if (op->kind == MODEL_CALL && op->a) t->shield--;
        st = model_m_intr(x, k, d);
        if (st == MODEL_UNWIND) return MODEL_X_EXIT;
        if (op->kind == MODEL_CALL) {
            model_m_op(x, k, d, st, (int)t->fr[d + 1].result, -1, 0);
        } else {
            model_m_disarm(x, k, id);
            expired = x->m.sc[id].expired;
            model_m_op(x, k, d, expired ? ASYNC_ETIMEDOUT : ASYNC_OK, (int)t->fr[d + 1].result,
                       expired, 0);
        }
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_ARM) {
        if (F->armed[op->a]) {
            model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
        } else {
            model_m_arm(x, k, d, op->a, x->m.now + (uint64_t)op->d * MODEL_SECOND);
            F->armed[op->a] = 1;
            model_m_op(x, k, d, ASYNC_OK, 0, -1, 0);
        }
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_DISARM) {
        int id = model_scope_id(k, d, op->a), was = F->armed[op->a];
        model_m_disarm(x, k, id);
        F->armed[op->a] = 0;
        model_m_op(x, k, d, ASYNC_OK, was ? x->m.sc[id].expired : -1, -1, 0);
        return MODEL_X_NEXT;
    }
    if (op->kind == MODEL_RET) {
        if (F->sec) {
            model_m_op(x, k, d, MODEL_SKIP, 0, -1, 0);
            return MODEL_X_NEXT;
        }
        F->result = model_ret_value(op->a);
        model_m_op(x, k, d, ASYNC_OK, model_ret_value(op->a), -1, 0);
        return MODEL_X_EXIT;
    }
    model_m_plain(x, k, d, op);
    return MODEL_X_NEXT;
}

/* The frame is finishing: its shield goes, and the timeouts it left armed. */
static inline void model_m_frame_done(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    t->shield--;
    t->fr[d].done = 1;
    model_m_disarm_depth(x, k, d);
}

/* Run frame d of task k until it suspends, finishes or yields a value
 * (MODEL_F_*). */
static inline int model_m_run_frame(model_ctx *x, int k, int d) {
    model_m_task *t = &x->m.t[k];
    model_m_frame *F = &t->fr[d];
    if (!F->begun) { /* its first statements */
        F->begun = 1;
        model_m_group_begin(x, k, d);
    }
    for (;;) {
        int leave = 0, atend = F->phase == 0 && F->idx >= x->c->nops[k][d][F->sec];
        if (atend && F->sec == 1 && F->idx == x->c->nops[k][d][1] && x->m.grp[k][d].pending) {
            F->endwait = 1; /* the group wait that ends the finally section */
            x->m.gstat[MODEL_GS_END_WAIT]++;
            atend = 0;
        }
        if (atend) {
            if (F->sec == 0) {
                F->result = model_default_result(k, d);
                leave = 1;
            } else {
                if (d == 0 && x->m.lowner == k) model_m_lock_release(x); /* as model_fn */
                model_push(x, 0, MODEL_EV_END, k, d, 1, 0, 0, t->cancel, (int)F->result, 0, 0);
                model_m_frame_done(x, k, d);
                return MODEL_F_FINISHED;
            }
        } else {
            int r = model_m_exec(x, k, d);
            if (r == MODEL_X_SUSPEND) return MODEL_F_SUSPENDED;
            if (r == MODEL_X_YIELD) return MODEL_F_YIELDED;
            if (r == MODEL_X_EXIT) leave = 1;
            else {
                F->idx++;
                F->phase = 0;
            }
        }
        if (leave) {
            if (F->fin) { /* left the finally section early */
                model_m_frame_done(x, k, d);
                return MODEL_F_FINISHED;
            }
            F->fin = 1;
            t->shield++;
            F->sec = 1;
            F->idx = 0;
            F->phase = 0;
            model_push(x, 0, MODEL_EV_FIN, k, d, 1, 0, 0, t->cancel, (int)F->result, 0, 0);
        }
    }
}

enum { MODEL_RAN = 0, MODEL_DONE, MODEL_DEADLOCK };

/* One pass of the model loop. */
static inline int model_m_step(model_ctx *x) {
    model_m *m = &x->m;
    int n, i;
    if (m->ntasks == 0 && !m->ncb) return MODEL_DONE; /* async_run waits for callbacks */
    if (!m->nready) {
        if (!m->ntl) return MODEL_DEADLOCK;
        if (m->tl[0].deadline > m->now) m->now = m->tl[0].deadline;
    }
    while (m->ntl && m->tl[0].deadline <= m->now) {
        int id = m->tl[0].id;
        memmove(&m->tl[0], &m->tl[1], (size_t)(m->ntl - 1) * sizeof m->tl[0]);
        m->ntl--;
        if (id < MODEL_NT) {
            model_m_push_ready(x, id);
        } else if (id >= MODEL_TCB(0)) { /* a done callback runs */
            m->cbstate[id - MODEL_TCB(0)] = 0;
            m->ncb--;
            m->xstat[MODEL_XS_CB_RUN]++;
            model_push(x, 0, MODEL_EV_CB, id - MODEL_TCB(0), 0, 0, m->cbfut[id - MODEL_TCB(0)], 0,
                       0, 0, 0, 0);
        } else {
            model_m_fire(x, id - MODEL_NT);
        }
    }
    n = m->nready;
    for (i = 0; i < n; i++) {
        int k = m->ready[0];
        memmove(&m->ready[0], &m->ready[1], (size_t)(m->nready - 1) * sizeof m->ready[0]);
        m->nready--;
        if (m->t[k].cancel && !m->t[k].started && x->o.model_bug != MODEL_BUG_RUN_CANCELLED) {
            model_m_finish(x, k); /* cancelled before its first step: runs nothing */
            continue;
        }
        m->t[k].started = 1;
        m->budget = ASYNC_BUDGET;
        model_push(x, 0, MODEL_EV_RESUME, k, 0, 0, 0, 0, 0, 0, 0, 0);
        if (model_m_run_frame(x, k, 0) == MODEL_F_FINISHED) model_m_finish(x, k);
    }
    return MODEL_RAN;
}

/* ==========================================================================
 * Checks: the library's invariants, and its state against the model's
 * ========================================================================== */

/* The slot of a task node, the MODEL_NT + scope id of a timeout node, or
 * the MODEL_WID of a group's node. */
static inline int model_node_id(model_ctx *x, const async__node *n) {
    uintptr_t p = (uintptr_t)n, base = (uintptr_t)&x->fs[0][0];
    int k, d, i;
    for (k = 0; k < MODEL_NT; k++) {
        if (p == (uintptr_t)&x->task[k].node) return k;
        if (p == (uintptr_t)&x->cbs[k].cb.w.node) return MODEL_CBID(k);
        if (p == (uintptr_t)&x->cbs[k].cb.h.node) return MODEL_TCB(k);
    }
    if (p < base || p >= base + sizeof x->fs) return -1;
    i = (int)((p - base) / sizeof(model_fs));
    k = i / MODEL_DEPTH;
    d = i % MODEL_DEPTH;
    for (i = 0; i < 2; i++) {
        if (p == (uintptr_t)&x->fs[k][d].tmo[i].node) return MODEL_NT + model_scope_id(k, d, i);
        if (p == (uintptr_t)&x->fs[k][d].wtmo[i].node) return MODEL_NT + model_scope_id(k, d, 2 + i);
    }
    for (i = 0; i < MODEL_NT; i++) {
        if (p == (uintptr_t)&x->fs[k][d].gw[i].node) return MODEL_WID(k, d, i);
        if (p == (uintptr_t)&x->fs[k][d].ww[i].node) return MODEL_XID(k, d, i);
    }
    return -1;
}

static inline const char *model_list_name(int list, char *buf, size_t n) {
    if (list < MODEL_NQ) snprintf(buf, n, "q%d getters", list);
    else if (list < 2 * MODEL_NQ) snprintf(buf, n, "q%d putters", list - MODEL_NQ);
    else if (list < 2 * MODEL_NQ + MODEL_NE) snprintf(buf, n, "e%d waiters", list - 2 * MODEL_NQ);
    else if (list < 2 * MODEL_NQ + MODEL_NE + MODEL_NS)
        snprintf(buf, n, "s%d waiters", list - 2 * MODEL_NQ - MODEL_NE);
    else if (list < MODEL_LGRP(0, 0))
        snprintf(buf, n, "waiters of t%d", list - 2 * MODEL_NQ - MODEL_NE - MODEL_NS);
    else if (list < MODEL_LCOND(0))
        snprintf(buf, n, "waiter on t%d%s's group", (list - MODEL_LGRP(0, 0)) / MODEL_DEPTH,
                 (list - MODEL_LGRP(0, 0)) % MODEL_DEPTH ? ".child" : "");
    else if (list < MODEL_LLOCK) snprintf(buf, n, "c%d waiters", list - MODEL_LCOND(0));
    else if (list == MODEL_LLOCK) snprintf(buf, n, "lock waiters");
    else if (list < MODEL_LLQ) snprintf(buf, n, "b%d waiters", list - MODEL_LBAR(0));
    else if (list == MODEL_LLQ) snprintf(buf, n, "unbounded queue getters");
    else if (list < MODEL_LWS(0, 0)) snprintf(buf, n, "f%d waiters", list - MODEL_LFUT(0));
    else
        snprintf(buf, n, "waiter in t%d%s's WAIT_TASKS", (list - MODEL_LWS(0, 0)) / MODEL_DEPTH,
                 (list - MODEL_LWS(0, 0)) % MODEL_DEPTH ? ".child" : "");
    return buf;
}

static inline async__node **model_real_list(model_ctx *x, int list) {
    if (list < MODEL_NQ) return &x->q[list].getters;
    if (list < 2 * MODEL_NQ) return &x->q[list - MODEL_NQ].putters;
    if (list < 2 * MODEL_NQ + MODEL_NE) return &x->ev[list - 2 * MODEL_NQ].waiters;
    if (list < 2 * MODEL_NQ + MODEL_NE + MODEL_NS)
        return &x->sem[list - 2 * MODEL_NQ - MODEL_NE].waiters;
    if (list < MODEL_LGRP(0, 0)) return &x->task[list - 2 * MODEL_NQ - MODEL_NE - MODEL_NS].waiters;
    if (list < MODEL_LCOND(0)) {
        list -= MODEL_LGRP(0, 0);
        return &x->fs[list / MODEL_DEPTH][list % MODEL_DEPTH].grp.waiter;
    }
    if (list < MODEL_LLOCK) return &x->cond[list - MODEL_LCOND(0)].waiters;
    if (list == MODEL_LLOCK) return &x->lock.sem.waiters;
    if (list < MODEL_LLQ) return &x->bar[list - MODEL_LBAR(0)].waiters;
    if (list == MODEL_LLQ) return &x->lq.getters;
    if (list < MODEL_LWS(0, 0)) return &x->fut[list - MODEL_LFUT(0)].waiters;
    list -= MODEL_LWS(0, 0);
    return &x->fs[list / MODEL_DEPTH][list % MODEL_DEPTH].ws.waiter;
}

/* Walk a wait list; the slots in order into ids (NULL: don't).  -1 if the
 * list is malformed (then x has failed). */
static inline int model_walk_list(model_ctx *x, int list, int *ids, int *seen) {
    async__node **owner = model_real_list(x, list), *h = *owner, *n;
    int cnt = 0;
    char nb[48];
    if (!h) return 0;
    n = h;
    do {
        int id = model_node_id(x, n);
        if (model_is_gnode(id) || model_is_xnode(id)) {
            /* a group's or WAIT_TASKS' node: only among its task's waiters */
            const async_waiter *w = (const async_waiter *)(const void *)n;
            if (list < MODEL_LTASK(0) || list >= MODEL_LTASK(MODEL_NT) ||
                w->task != &x->task[list - MODEL_LTASK(0)] || n->magic != ASYNC__K_WAITER) {
                model_fail(x, "invariant: %s holds %s node %d, not for that task",
                           model_list_name(list, nb, sizeof nb),
                           model_is_gnode(id) ? "group" : "WAIT_TASKS", id);
                return -1;
            }
        } else if (id >= MODEL_CBBASE) { /* a done callback: only on a future */
            if (list < MODEL_LFUT(0) || list >= MODEL_LFUT(MODEL_NF) ||
                n->magic != ASYNC__K_WAITER) {
                model_fail(x, "invariant: %s holds done callback node %d",
                           model_list_name(list, nb, sizeof nb), id);
                return -1;
            }
        } else if (id < 0 || id >= MODEL_NT) {
            model_fail(x, "invariant: %s holds a node that is neither a task nor a group's",
                       model_list_name(list, nb, sizeof nb));
            return -1;
        } else if (n->magic != ASYNC__LIVE) {
            model_fail(x, "invariant: %s holds t%d, which is not pending (magic %#x)",
                       model_list_name(list, nb, sizeof nb), id, n->magic);
            return -1;
        }
        if (cnt >= MODEL_LCAP || n->link.l.owner != owner || n->where != ASYNC__W_WAITING ||
            n->link.l.next->link.l.prev != n) {
            model_fail(x, "invariant: %s is malformed at node %d (where %d, magic %#x, %d nodes)",
                       model_list_name(list, nb, sizeof nb), id, n->where, n->magic, cnt);
            return -1;
        }
        if (ids) ids[cnt] = id;
        if (seen && id < MODEL_NT) seen[id]++;
        cnt++;
        n = n->link.l.next;
    } while (n != h);
    return cnt;
}

static inline int model_before(const async__node *a, const async__node *b) {
    if (a->deadline != b->deadline) return a->deadline < b->deadline;
    return (int32_t)(a->seq - b->seq) < 0;
}

/* Collect the timer structure's nodes, checking its invariants (heap shape
 * and order, the wheel's slots, the due list: async__timers_verify). */
static inline int model_walk_heap(model_ctx *x, const async__node **out, int max) {
    size_t cnt = 0;
    const char *broken = async__timers_verify(&x->loop.timers, out, (size_t)max, &cnt);
    if (broken) {
        model_fail(x, "invariant: timers: %s", broken);
        return -1;
    }
    if (cnt > (size_t)max) {
        model_fail(x, "invariant: timers: %zu nodes, more than the model has", cnt);
        return -1;
    }
    return (int)cnt;
}

/* The library's own invariants; `current` is the running task or -1. */
static inline void model_check_lib(model_ctx *x, int current) {
    async_loop *l = &x->loop;
    int seen[MODEL_NT], q, k, list, live = 0, n, i;
    const async__node *heap[MODEL_NTIMER + 1];
    if (x->failed) return;
    memset(seen, 0, sizeof seen);
    if (l->now < x->last_now) model_fail(x, "invariant: the clock went back");
    x->last_now = l->now;
    if (current >= 0 && l->current != &x->task[current])
        model_fail(x, "invariant: t%d runs but loop->current is another", current);
    /* ready queue */
    {
        async_task *t = l->head, *last = NULL;
        n = 0;
        while (t) {
            int id = model_node_id(x, &t->node);
            if (id < 0 || id >= MODEL_NT || ++n > MODEL_NT || t->node.where != ASYNC__W_READY ||
                t->node.magic != ASYNC__LIVE) {
                model_fail(x, "invariant: ready queue malformed at entry %d", n);
                return;
            }
            seen[id]++;
            last = t;
            t = async__task_of(t->node.link.l.next);
        }
        if (l->tail != last) {
            model_fail(x, "invariant: ready queue tail is wrong");
            return;
        }
    }
    /* timer heap */
    n = model_walk_heap(x, heap, MODEL_NTIMER + 1);
    if (n < 0) return;
    for (i = 0; i < n; i++) {
        int id = model_node_id(x, heap[i]);
        if (id < 0) {
            model_fail(x, "invariant: unknown node in the heap");
            return;
        }
        if (id < MODEL_NT) {
            seen[id]++;
            if (heap[i]->magic != ASYNC__LIVE) model_fail(x, "invariant: finished t%d sleeps", id);
        } else if (id >= MODEL_TCB(0)) {
            if (heap[i]->magic != ASYNC__K_CALL)
                model_fail(x, "invariant: t%d's done callback is in the heap, not a call", id);
        } else {
            int k2 = model_scope_task(id - MODEL_NT);
            async_timeout *s;
            if (x->task[k2].node.magic != ASYNC__LIVE)
                model_fail(x, "invariant: a timeout of finished t%d is in the heap", k2);
            for (s = x->task[k2].scopes; s && &s->node != heap[i]; s = s->next) {
            }
            if (!s) model_fail(x, "invariant: a timeout in the heap is not armed by t%d", k2);
        }
    }
    /* wait lists */
    for (list = 0; list < MODEL_NL; list++)
        if (model_walk_list(x, list, NULL, seen) < 0) return;
    for (q = 0; q < MODEL_NQ; q++)
        if (x->q[q].joiners) model_fail(x, "invariant: q%d has joiners", q);
    /* groups: pending counts the members whose node is still among their
     * task's waiters; a failure is a member's negative result; nobody waits
     * on a group with nothing pending */
    for (k = 0; k < x->c->ntasks; k++) {
        int d;
        for (d = 0; d < MODEL_DEPTH; d++) {
            const async_group *g = &x->fs[k][d].grp;
            int linked = 0, member = !g->failed;
            if (g->w != x->fs[k][d].gw || g->cap != MODEL_GCAP(k) || g->n > g->cap) {
                model_fail(x, "invariant: t%d%s's group: %zu members, capacity %zu", k,
                           d ? ".child" : "", g->n, g->cap);
                return;
            }
            for (i = 0; i < (int)g->n; i++) {
                const async_waiter *w = &g->w[i];
                member |= w->task == g->failed;
                if (w->node.where != ASYNC__W_WAITING) continue;
                linked++;
                if (w->task->node.magic != ASYNC__LIVE || w->node.link.l.owner != &w->task->waiters)
                    model_fail(x, "invariant: t%d%s's group: member %d's node is linked, but not "
                                  "among the waiters of its pending task", k, d ? ".child" : "", i);
            }
            if (linked != (int)g->pending)
                model_fail(x, "invariant: t%d%s's group has %zu pending, %d member nodes linked", k,
                           d ? ".child" : "", g->pending, linked);
            if (!member || (g->failed && g->error >= 0))
                model_fail(x, "invariant: t%d%s's group failed with %ld (by a member: %d)", k,
                           d ? ".child" : "", (long)g->error, member);
            if (g->waiter && !g->pending)
                model_fail(x, "invariant: a task waits on t%d%s's group with nothing pending", k,
                           d ? ".child" : "");
        }
    }
    /* every task in one place */
    for (k = 0; k < MODEL_NT; k++) {
        async_task *t = &x->task[k];
        if (t->node.magic == ASYNC__LIVE) {
            live++;
            if (seen[k] != (k == current ? 0 : 1))
                model_fail(x, "invariant: pending t%d is in %d places (ready/heap/wait lists)%s",
                           k, seen[k], k == current ? " while running" : "");
        } else {
            if (seen[k]) model_fail(x, "invariant: t%d is not pending but linked in %d places", k, seen[k]);
            if (x->spawns[k]) {
                if (t->node.magic != ASYNC__DEAD) model_fail(x, "invariant: t%d has a bad magic", k);
                if (t->waiters) model_fail(x, "invariant: finished t%d still has waiters", k);
                if (t->scopes) model_fail(x, "invariant: finished t%d still has armed timeouts", k);
                if (!x->counted[k]) {
                    x->finishes[k]++;
                    x->unstarted[k] += !x->started[k];
                    x->counted[k] = 1;
                }
            }
        }
        if (x->ends[k] + x->unstarted[k] != x->finishes[k])
            model_fail(x, "invariant: t%d: %d finally ends and %d cancelled before a first step "
                          "for %d finished incarnations (%d spawns)",
                       k, x->ends[k], x->unstarted[k], x->finishes[k], x->spawns[k]);
        if (x->spawns[k] != x->finishes[k] + (t->node.magic == ASYNC__LIVE))
            model_fail(x, "invariant: t%d spawned %d times, finished %d", k, x->spawns[k],
                       x->finishes[k]);
    }
    if ((int)l->ntasks != live)
        model_fail(x, "invariant: loop->ntasks = %zu, pending tasks %d", l->ntasks, live);
#ifndef ASYNC_NO_INTROSPECTION
    {
        async_task *t = l->tasks;
        n = 0;
        if (t) do {
                if (t->node.magic != ASYNC__LIVE || ++n > MODEL_NT || t->next->prev != t) {
                    model_fail(x, "invariant: the loop's task list is malformed");
                    break;
                }
                t = t->next;
            } while (t != l->tasks);
        if (n != live) model_fail(x, "invariant: the task list has %d tasks, %d pending", n, live);
    }
#endif
    /* items: put = got + queued, in every kind of queue */
    for (q = 0; q <= MODEL_NQ; q++) {
        async_queue *qq = &x->q[q < MODEL_NQ ? q : 0];
        int inq = 0, id, v[MODEL_QCAPMAX], nv = 0;
        size_t count = q < MODEL_NQ ? qq->count : x->lq.count;
        const async_qlink *ql = x->lq.head;
        if (q < MODEL_NQ) {
            if (qq->count > qq->cap || qq->cap > MODEL_QCAPMAX) {
                model_fail(x, "invariant: q%d holds %zu items, capacity %zu", q, qq->count, qq->cap);
                return;
            }
            nv = model_real_qitems(qq, v);
        }
        for (i = 0; q < MODEL_NQ ? i < nv : ql != NULL; i++) {
            int it;
            if (q < MODEL_NQ) {
                it = v[i];
            } else {
                const model_litem *li = ASYNC_CONTAINER_OF(ql, model_litem, link);
                if (i > MODEL_LQMAX || li < x->litem || li >= x->litem + MODEL_MAXITEMS) {
                    model_fail(x, "invariant: the unbounded queue's list is malformed");
                    return;
                }
                it = li->id;
                ql = ql->next;
            }
            if (it <= 0 || it >= MODEL_MAXITEMS || x->item[it] != 1 + q) {
                model_fail(x, "invariant: q%d holds item %d, which was not put there or was got "
                              "already (state %d)", q, it,
                           it > 0 && it < MODEL_MAXITEMS ? x->item[it] : -1);
                return;
            }
        }
        if (q == MODEL_NQ && i != (int)count) {
            model_fail(x, "invariant: the unbounded queue links %d items, counts %zu", i, count);
            return;
        }
        for (id = 1; id <= x->next_item && id < MODEL_MAXITEMS; id++) inq += x->item[id] == 1 + q;
        if (inq != (int)count)
            model_fail(x, "invariant: %d items were put in q%d and not got, it holds %zu "
                          "(lost or duplicated)", inq, q, count);
        if (q == MODEL_NQ) {
            if (x->lq.held > x->lq.count)
                model_fail(x, "invariant: the unbounded queue holds %zu items for getters, of %zu",
                           x->lq.held, x->lq.count);
            continue;
        }
        if (qq->held_items > qq->count || qq->count + qq->held_slots > qq->cap)
            model_fail(x, "invariant: q%d reservations exceed it: %zu items, %zu held items, "
                          "%zu held slots, capacity %zu", q, qq->count, qq->held_items,
                       qq->held_slots, qq->cap);
    }
    /* the lock is free, handed to a woken task, or owned: exactly one */
    if (x->lock.sem.value + x->lock.sem.held + (x->lock.owner != NULL) != 1)
        model_fail(x, "invariant: the lock has value %ld, %ld handed over, owner t%d", x->lock.sem.value,
                   x->lock.sem.held, model_real_slot(x, x->lock.owner));
    for (i = 0; i < MODEL_NB; i++)
        if (x->bar[i].count >= x->bar[i].parties || (x->bar[i].broken && x->bar[i].waiters))
            model_fail(x, "invariant: b%d counts %zu of %zu parties (broken %d, waiters %d)", i,
                       x->bar[i].count, x->bar[i].parties, x->bar[i].broken,
                       x->bar[i].waiters != NULL);
}

static inline int model_where_of(const async_task *t) {
    if (t->node.magic == ASYNC__DEAD) return MODEL_W_DONE;
    if (t->node.magic != ASYNC__LIVE) return MODEL_W_IDLE;
    switch (t->node.where) {
    case ASYNC__W_READY: return MODEL_W_READY;
    case ASYNC__W_SLEEPING: return MODEL_W_SLEEP;
    case ASYNC__W_WAITING: return MODEL_W_WAIT;
    default: return -1;
    }
}

static inline const char *model_where_name(int w) {
    static const char *const n[] = {"not spawned", "ready", "sleeping", "waiting", "done"};
    return w >= 0 && w <= MODEL_W_DONE ? n[w] : "?";
}

static inline void model_ids_format(char *buf, size_t n, const int *ids, int cnt) {
    int i;
    size_t w = 0;
    buf[0] = 0;
    for (i = 0; i < cnt && w < n; i++) {
        int id = ids[i];
        int r;
        if (id < MODEL_NT) r = snprintf(buf + w, n - w, "%st%d", i ? " " : "", id);
        else if (id >= MODEL_CBBASE)
            r = snprintf(buf + w, n - w, "%st%d.callback", i ? " " : "", id - MODEL_CBBASE);
        else if (id >= MODEL_WBASE) {
            int b = model_is_gnode(id) ? MODEL_WBASE : MODEL_XBASE, g = (id - b) / MODEL_NT;
            r = snprintf(buf + w, n - w, "%st%d%s.%s[%d]", i ? " " : "", g / MODEL_DEPTH,
                         g % MODEL_DEPTH ? ".child" : "", b == MODEL_WBASE ? "group" : "wait",
                         (id - b) % MODEL_NT);
        } else if (id >= MODEL_TCB(0)) {
            r = snprintf(buf + w, n - w, "%st%d.callback", i ? " " : "", id - MODEL_TCB(0));
        } else {
            int s = id - MODEL_NT, slot = s % 4;
            r = snprintf(buf + w, n - w, "%st%d%s.%s%d", i ? " " : "", model_scope_task(s),
                         model_scope_depth(s) ? ".child" : "", slot < 2 ? "tmo" : "wtmo",
                         slot % 2);
        }
        if (r < 0) break;
        w += (size_t)r;
    }
    if (!cnt && n > 7) snprintf(buf, n, "(empty)");
}

static inline int model_ids_differ(model_ctx *x, const char *what, const int *real, int nr,
                                   const int *mod, int nm) {
    char a[256], b[256];
    if (nr == nm && !memcmp(real, mod, (size_t)nr * sizeof(int))) return 0;
    model_ids_format(a, sizeof a, real, nr);
    model_ids_format(b, sizeof b, mod, nm);
    model_fail(x, "state: %s: async.h has [%s], the model [%s]", what, a, b);
    return 1;
}

/* The loop's state against the model's (after a pass, nothing running). */
static inline void model_compare_state(model_ctx *x) {
    model_m *m = &x->m;
    int k, list, i, n, ids[MODEL_NTIMER + 1], mids[MODEL_NTIMER + 1];
    const async__node *heap[MODEL_NTIMER + 1];
    char nb[48];
    if (x->failed) return;
    if (x->loop.now != m->now) {
        model_fail(x, "state: async.h's clock is at %llu ns, the model's at %llu ns",
                   (unsigned long long)x->loop.now, (unsigned long long)m->now);
        return;
    }
    for (k = 0; k < x->c->ntasks; k++) {
        int w = model_where_of(&x->task[k]), mw = m->t[k].ever ? m->t[k].where : MODEL_W_IDLE;
        if (w != mw) {
            model_fail(x, "state: t%d is %s in async.h, %s in the model", k, model_where_name(w),
                       model_where_name(mw));
            return;
        }
        if (w == MODEL_W_DONE &&
            (async_task_state(&x->task[k]) != model_m_state(x, k) ||
             async_task_result(&x->task[k]) != model_m_result(x, k))) {
            model_fail(x, "state: t%d ended with state %d result %ld in async.h, state %d "
                          "result %d in the model", k, async_task_state(&x->task[k]),
                       (long)async_task_result(&x->task[k]), model_m_state(x, k),
                       model_m_result(x, k));
            return;
        }
        if (w != MODEL_W_IDLE && w != MODEL_W_DONE) {
            const async_timeout *s;
            n = 0;
            for (s = x->task[k].scopes; s && n < MODEL_DEPTH * 4; s = s->next) {
                ids[n] = model_node_id(x, &s->node);
                if (s->node.where == ASYNC__W_FIRED) ids[n] += 1000;
                n++;
            }
            for (i = 0; i < m->t[k].nscopes; i++) {
                mids[i] = MODEL_NT + m->t[k].scopes[i];
                if (m->sc[m->t[k].scopes[i]].state == MODEL_SC_FIRED) mids[i] += 1000;
            }
            if (n != m->t[k].nscopes || memcmp(ids, mids, (size_t)n * sizeof(int))) {
                model_fail(x, "state: t%d's armed timeouts differ (%d in async.h, %d in the model; "
                              "1000+ = expired)", k, n, m->t[k].nscopes);
                return;
            }
        }
    }
    /* ready queue, in order */
    n = 0;
    {
        async_task *t;
        for (t = x->loop.head; t && n < MODEL_NT; t = async__task_of(t->node.link.l.next))
            ids[n++] = model_node_id(x, &t->node);
    }
    if (model_ids_differ(x, "ready queue", ids, n, m->ready, m->nready)) return;
    /* timers, in firing order */
    n = model_walk_heap(x, heap, MODEL_NTIMER + 1);
    if (n < 0) return;
    for (i = 1; i < n; i++) { /* insertion sort by (deadline, seq) */
        const async__node *v = heap[i];
        int j = i;
        while (j > 0 && model_before(v, heap[j - 1])) {
            heap[j] = heap[j - 1];
            j--;
        }
        heap[j] = v;
    }
    for (i = 0; i < n; i++) ids[i] = model_node_id(x, heap[i]);
    for (i = 0; i < m->ntl; i++) mids[i] = m->tl[i].id;
    if (model_ids_differ(x, "timers in firing order", ids, n, mids, m->ntl)) return;
    for (i = 0; i < n; i++)
        if (heap[i]->deadline != m->tl[i].deadline) {
            model_fail(x, "state: timer %d deadline %llu in async.h, %llu in the model", i,
                       (unsigned long long)heap[i]->deadline, (unsigned long long)m->tl[i].deadline);
            return;
        }
    /* wait lists, in order */
    for (list = 0; list < MODEL_NL; list++) {
        n = model_walk_list(x, list, ids, NULL);
        if (n < 0) return;
        if (n == m->lists[list].n && !memcmp(ids, m->lists[list].id, (size_t)n * sizeof(int)))
            continue; /* (the list's name is only formatted for a difference) */
        if (model_ids_differ(x, model_list_name(list, nb, sizeof nb), ids, n, m->lists[list].id,
                             m->lists[list].n))
            return;
    }
    /* groups */
    for (k = 0; k < x->c->ntasks; k++) {
        int d, j;
        for (d = 0; d < MODEL_DEPTH; d++) {
            const async_group *g = &x->fs[k][d].grp;
            const model_m_group *G = &m->grp[k][d];
            int same = (int)g->n == G->n && (int)g->pending == G->pending &&
                       model_real_slot(x, g->failed) + 1 == G->failed && g->error == G->error;
            for (j = 0; same && j < G->n; j++) same = g->w[j].task == &x->task[G->member[j]];
            if (!same) {
                model_fail(x, "state: t%d%s's group has %zu members (%zu pending, failed t%d, "
                              "error %ld) in async.h, %d (%d, t%d, %d) in the model, or other "
                              "members", k, d ? ".child" : "", g->n, g->pending,
                           model_real_slot(x, g->failed), (long)g->error, G->n, G->pending,
                           G->failed - 1, G->error);
                return;
            }
        }
    }
    /* objects */
    for (i = 0; i < MODEL_NQ; i++) {
        async_queue *q = &x->q[i];
        int j;
        if ((int)q->count != m->qn[i] || (int)q->held_items != m->qheld_items[i] ||
            (int)q->held_slots != m->qheld_slots[i] || (q->closed != 0) != (m->qclosed[i] != 0)) {
            model_fail(x, "state: q%d has %zu items (%zu held for getters, %zu slots held for "
                          "putters, closed %d) in async.h, %d (%d, %d, %d) in the model", i,
                       q->count, q->held_items, q->held_slots, q->closed, m->qn[i],
                       m->qheld_items[i], m->qheld_slots[i], m->qclosed[i]);
            return;
        }
        n = model_real_qitems(q, ids);
        for (j = 0; j < n; j++)
            if (ids[j] != m->qitem[i][j]) {
                model_fail(x, "state: q%d's item #%d to get is %d in async.h, %d in the model",
                           i, j, ids[j], m->qitem[i][j]);
                return;
            }
    }
    {
        const async_qlink *l = x->lq.head;
        if ((int)x->lq.count != m->lqn || (int)x->lq.held != m->lqheld ||
            (x->lq.closed != 0) != (m->lqclosed != 0)) {
            model_fail(x, "state: the unbounded queue has %zu items (%zu held for getters, "
                          "closed %d) in async.h, %d (%d, %d) in the model", x->lq.count,
                       x->lq.held, x->lq.closed, m->lqn, m->lqheld, m->lqclosed);
            return;
        }
        for (i = 0; l && i < m->lqn; i++, l = l->next)
            if (ASYNC_CONTAINER_OF(l, model_litem, link)->id != m->lqitem[i]) {
                model_fail(x, "state: the unbounded queue's item #%d is %d in async.h, %d in "
                              "the model", i, ASYNC_CONTAINER_OF(l, model_litem, link)->id,
                           m->lqitem[i]);
                return;
            }
    }
    if (x->lock.sem.value != m->lv || x->lock.sem.held != m->lheld ||
        model_real_slot(x, x->lock.owner) != m->lowner) {
        model_fail(x, "state: the lock has value %ld, %ld handed over, owner t%d in async.h; "
                      "%d, %d, t%d in the model", x->lock.sem.value, x->lock.sem.held,
                   model_real_slot(x, x->lock.owner), m->lv, m->lheld, m->lowner);
        return;
    }
    for (i = 0; i < MODEL_NB; i++)
        if ((int)x->bar[i].count != m->bcount[i] || (x->bar[i].broken != 0) != (m->bbroken[i] != 0)) {
            model_fail(x, "state: b%d counts %zu (broken %d) in async.h, %d (%d) in the model", i,
                       x->bar[i].count, x->bar[i].broken, m->bcount[i], m->bbroken[i]);
            return;
        }
    for (i = 0; i < MODEL_NF; i++)
        if (x->fut[i].state != m->fstate[i] || x->fut[i].result != m->fresult[i] ||
            x->fut[i].error != m->ferror[i]) {
            model_fail(x, "state: f%d is in state %d, result %ld, error %d in async.h; %d, %d, %d "
                          "in the model", i, x->fut[i].state, (long)x->fut[i].result,
                       x->fut[i].error, m->fstate[i], m->fresult[i], m->ferror[i]);
            return;
        }
    for (k = 0; k < MODEL_NT; k++) {
        int st = x->cbs[k].cb.w.node.where == ASYNC__W_WAITING ? 1
                 : async_handle_pending(&x->cbs[k].cb.h)      ? 2
                                                               : 0;
        if (st != m->cbstate[k]) {
            model_fail(x, "state: t%d's done callback is %d in async.h, %d in the model (1: on "
                          "a future, 2: scheduled)", k, st, m->cbstate[k]);
            return;
        }
    }
    if ((int)x->loop.nhandles != m->ncb) {
        model_fail(x, "state: %zu callbacks scheduled in async.h, %d in the model",
                   x->loop.nhandles, m->ncb);
        return;
    }
    for (k = 0; k < x->c->ntasks; k++) {
        int d;
        for (d = 0; d < MODEL_DEPTH; d++) {
            const async_wait *ws = &x->fs[k][d].ws;
            if ((int)ws->done != m->ws[k][d].done ||
                model_real_slot(x, ws->first_failed) + 1 != m->ws[k][d].failed) {
                model_fail(x, "state: t%d%s's WAIT_TASKS saw %zu done (first failure t%d) in "
                              "async.h, %d (t%d) in the model", k, d ? ".child" : "", ws->done,
                           model_real_slot(x, ws->first_failed), m->ws[k][d].done,
                           m->ws[k][d].failed - 1);
                return;
            }
        }
    }
    for (i = 0; i < MODEL_NE; i++)
        if ((x->ev[i].set != 0) != (m->eset[i] != 0)) {
            model_fail(x, "state: e%d is %s in async.h", i, x->ev[i].set ? "set" : "clear");
            return;
        }
    for (i = 0; i < MODEL_NS; i++)
        if (x->sem[i].value != m->semv[i]) {
            model_fail(x, "state: s%d = %ld in async.h, %ld in the model", i, x->sem[i].value,
                       m->semv[i]);
            return;
        }
    if ((int)x->loop.ntasks != m->ntasks)
        model_fail(x, "state: %zu tasks pending in async.h, %d in the model", x->loop.ntasks,
                   m->ntasks);
}

/* ==========================================================================
 * The driver
 * ========================================================================== */

static inline void model_setup(model_ctx *x, const model_case *c, const model_opts *o) {
    int k, d, i;
    x->c = c;
    x->o = *o;
    memset(&x->loop, 0, sizeof x->loop);
    memset(x->task, 0, sizeof x->task);
    memset(x->fs, 0, sizeof x->fs);
    memset(x->q, 0, sizeof x->q);
    memset(x->ev, 0, sizeof x->ev);
    memset(x->sem, 0, sizeof x->sem);
    memset(x->cbs, 0, sizeof x->cbs);
    memset(x->cval, 0, sizeof x->cval);
    memset(x->spawns, 0, sizeof x->spawns);
    memset(x->finishes, 0, sizeof x->finishes);
    memset(x->counted, 0, sizeof x->counted);
    memset(x->ends, 0, sizeof x->ends);
    memset(x->started, 0, sizeof x->started);
    memset(x->unstarted, 0, sizeof x->unstarted);
    memset(x->item, 0, sizeof x->item);
    memset(&x->m, 0, sizeof x->m);
    x->next_item = 0;
    x->last_now = 0;
    x->nrev = x->nmev = 0;
    x->failed = 0;
    x->fail[0] = 0;
    x->step = 0;
    async_loop_init(&x->loop, ASYNC_VIRTUAL);
    for (k = 0; k < MODEL_NT; k++)
        for (d = 0; d < MODEL_DEPTH; d++) {
            model_fs *s = &x->fs[k][d];
            s->x = x;
            s->task = k;
            s->depth = d;
            s->child = d + 1 < MODEL_DEPTH ? &x->fs[k][d + 1] : NULL;
        }
    for (i = 0; i < MODEL_NQ; i++) model_real_qinit(x, i);
    for (i = 0; i < MODEL_NE; i++) async_event_init(&x->ev[i]);
    for (i = 0; i < MODEL_NS; i++) {
        async_semaphore_init(&x->sem[i], c->sem0[i]);
        x->m.semv[i] = c->sem0[i];
    }
    async_lock_init(&x->lock);
    x->m.lv = 1;
    x->m.lowner = -1;
    for (i = 0; i < MODEL_NC; i++) async_condition_init(&x->cond[i], &x->lock);
    for (i = 0; i < MODEL_NB; i++) async_barrier_init(&x->bar[i], c->bparties[i]);
    async_lqueue_init(&x->lq);
    for (i = 0; i < MODEL_NF; i++) {
        async_future_init(&x->fut[i], &x->loop);
        x->m.fstate[i] = ASYNC_PENDING;
    }
    for (k = 0; k < MODEL_NT; k++) {
        x->cbs[k].x = x;
        x->cbs[k].k = k;
    }
    for (k = 0; k < MODEL_NT; k++)
        for (d = 0; d < MODEL_DEPTH; d++)
            async_group_init(&x->fs[k][d].grp, x->fs[k][d].gw, MODEL_GCAP(k));
    for (k = 0; k < c->ninit; k++) {
        model_real_spawn(x, k, NULL);
        model_m_spawn(x, k);
    }
}

static inline int model_real_step(model_ctx *x) {
    async_loop *l = &x->loop;
    if (l->ntasks == 0 && !l->nhandles) return MODEL_DONE; /* as async_run */
    if (!l->head) {
        if (!l->timers.n) {
            int rc = async_run(l);
            if (rc != ASYNC_EDEADLK)
                model_fail(x, "async_run returned %d (%s) with nothing ready and no timer, "
                              "expected ASYNC_EDEADLK", rc, async_strerror(rc));
            return MODEL_DEADLOCK;
        }
        if (async__timers_peek(&l->timers)->deadline > l->now) /* as async_run does */
            l->now = async__timers_peek(&l->timers)->deadline;
    }
    async_step(l);
    return MODEL_RAN;
}

/* After a deadlock: the driver cancels every pending task, in slot order. */
static inline void model_kill(model_ctx *x, int real) {
    int k;
    for (k = 0; k < x->c->ntasks; k++) {
        if (real) {
            if (x->spawns[k] && async_task_state(&x->task[k]) == ASYNC_PENDING)
                model_push(x, 1, MODEL_EV_KILL, k, 0, 0, 0, 0, async_cancel(&x->task[k]), 0, 0, 0);
        } else if (x->m.t[k].live) {
            model_push(x, 0, MODEL_EV_KILL, k, 0, 0, 0, 0, model_m_cancel(x, k), 0, 0, 0);
        }
    }
}

static inline int model_ev_equal(const model_ev *a, const model_ev *b) {
    return a->time == b->time && a->type == b->type && a->task == b->task &&
           a->depth == b->depth && a->sec == b->sec && a->a == b->a && a->b == b->b &&
           a->c == b->c && a->d == b->d && a->e == b->e && a->f == b->f;
}

static inline void model_divergence(model_ctx *x, model_result *r, int at, const char *why) {
    size_t w = 0;
    int i, from = at - 8 < 0 ? 0 : at - 8;
    char line[256];
    r->diverged = 1;
    r->event = at;
    r->step = x->c->run_mode ? -1 : x->step;
#define MODEL__APPEND(...)                                                    \
    do {                                                                      \
        if (w < sizeof r->msg) {                                              \
            int q_ = snprintf(r->msg + w, sizeof r->msg - w, __VA_ARGS__);    \
            if (q_ > 0) w += (size_t)q_;                                      \
        }                                                                     \
    } while (0)
    if (r->step >= 0)
        MODEL__APPEND("diverged in loop pass %ld (virtual time %gs)", r->step,
                      (double)x->loop.now / 1e9);
    else
        MODEL__APPEND("diverged in the async_run mode");
    if (at >= 0) MODEL__APPEND(", at event #%d", at);
    MODEL__APPEND(": %s\n", why);
    if (at >= 0) {
        if (from < at) MODEL__APPEND("  events before (both agree):\n");
        for (i = from; i < at; i++) {
            model_ev_format(line, sizeof line, &x->rev[i]);
            MODEL__APPEND("    #%d %s\n", i, line);
        }
        if (at < x->nmev) model_ev_format(line, sizeof line, &x->mev[at]);
        else snprintf(line, sizeof line, "(no more events)");
        MODEL__APPEND("  model expects: #%d %s\n", at, line);
        if (at < x->nrev) model_ev_format(line, sizeof line, &x->rev[at]);
        else snprintf(line, sizeof line, "(no more events)");
        MODEL__APPEND("  async.h did:   #%d %s\n", at, line);
    }
#undef MODEL__APPEND
}

/* Compare the traces from `from`; 1 if they differ (r filled in). */
static inline int model_compare_events(model_ctx *x, int from, int all, model_result *r) {
    int i, n = x->nrev < x->nmev ? x->nrev : x->nmev;
    for (i = from; i < n; i++)
        if (!model_ev_equal(&x->rev[i], &x->mev[i])) {
            model_divergence(x, r, i, "the traces differ");
            return 1;
        }
    (void)all;
    if (x->nrev != x->nmev) {
        model_divergence(x, r, n, x->nrev < x->nmev ? "async.h's trace is shorter"
                                                    : "async.h's trace is longer");
        return 1;
    }
    return 0;
}

static inline int model_check_failed(model_ctx *x, model_result *r) {
    if (!x->failed) return 0;
    model_divergence(x, r, -1, x->fail);
    return 1;
}

/* Run a case on async.h and on the model; 0 if they agree. */
static inline int model_check_case(model_ctx *x, const model_case *c, const model_opts *o,
                                   model_result *r) {
    int killed = 0, rc, cmp = 0;
    memset(r, 0, sizeof *r);
    r->event = -1;
    model_setup(x, c, o);
    if (!c->run_mode) {
        for (x->step = 0;; x->step++) {
            int rr, mr;
            if (x->step > MODEL_MAXSTEPS) {
                model_fail(x, "no end after %d passes", MODEL_MAXSTEPS);
                break;
            }
            rr = model_real_step(x);
            mr = model_m_step(x);
            if (rr == MODEL_DEADLOCK) model_push(x, 1, MODEL_EV_DEADLOCK, 0, 0, 0, 0, 0, (int)x->loop.ntasks, 0, 0, 0);
            if (mr == MODEL_DEADLOCK) model_push(x, 0, MODEL_EV_DEADLOCK, 0, 0, 0, 0, 0, x->m.ntasks, 0, 0, 0);
            if (model_compare_events(x, cmp, 0, r)) break;
            if (model_check_failed(x, r)) break;
            cmp = x->nrev;
            if (rr != mr) {
                model_fail(x, "async.h's loop %s, the model's %s",
                           rr == MODEL_DONE ? "is done" : rr == MODEL_DEADLOCK ? "is deadlocked" : "ran",
                           mr == MODEL_DONE ? "is done" : mr == MODEL_DEADLOCK ? "is deadlocked" : "ran");
                model_check_failed(x, r);
                break;
            }
            if (rr == MODEL_DONE) break;
            if (rr == MODEL_DEADLOCK) {
                if (killed) break;
                killed = 1;
                model_kill(x, 1);
                model_kill(x, 0);
                if (model_compare_events(x, cmp, 0, r)) break;
                cmp = x->nrev;
            }
            model_compare_state(x);
            model_check_lib(x, -1);
            if (model_check_failed(x, r)) break;
        }
    } else {
        for (;;) { /* async.h, all at once */
            rc = async_run(&x->loop);
            if (rc == ASYNC_OK) break;
            if (rc != ASYNC_EDEADLK) {
                model_fail(x, "async_run returned %d", rc);
                break;
            }
            model_push(x, 1, MODEL_EV_DEADLOCK, 0, 0, 0, 0, 0, (int)x->loop.ntasks, 0, 0, 0);
            if (killed) break;
            killed = 1;
            model_kill(x, 1);
        }
        killed = 0;
        for (x->step = 0;; x->step++) { /* the model */
            int mr = model_m_step(x);
            if (x->step > MODEL_MAXSTEPS) {
                model_fail(x, "model: no end after %d passes", MODEL_MAXSTEPS);
                break;
            }
            if (mr == MODEL_DONE) break;
            if (mr == MODEL_DEADLOCK) {
                model_push(x, 0, MODEL_EV_DEADLOCK, 0, 0, 0, 0, 0, x->m.ntasks, 0, 0, 0);
                if (killed) break;
                killed = 1;
                model_kill(x, 0);
            }
        }
        if (!model_compare_events(x, 0, 1, r) && !model_check_failed(x, r)) {
            model_compare_state(x);
            model_check_lib(x, -1);
            model_check_failed(x, r);
        }
    }
    if (!r->diverged) {
        model_compare_state(x);
        model_check_lib(x, -1);
        model_check_failed(x, r);
    }
    r->nevents = x->nrev;
    r->steps = x->step;
    async_loop_close(&x->loop);
    return r->diverged;
}

/* ==========================================================================
 * Shrinking and reporting
 * ========================================================================== */

static inline int model_names_task(int kind) {
    return kind == MODEL_SPAWN || kind == MODEL_CANCEL || kind == MODEL_AWAIT ||
           kind == MODEL_GSPAWN;
}

static inline int model_refers_to(const model_op *op, int k) {
    return model_names_task(op->kind) && op->a == k;
}

/* Remove slot k (ops naming it go too); 0 if that leaves no valid case. */
static inline int model_case_drop_task(model_case *c, int k) {
    int j, d, s, i, o;
    if (c->ntasks <= 1 || (k < c->ninit && c->ninit <= 1)) return 0;
    for (j = k; j + 1 < c->ntasks; j++) {
        memcpy(c->nops[j], c->nops[j + 1], sizeof c->nops[j]);
        memcpy(c->ops[j], c->ops[j + 1], sizeof c->ops[j]);
    }
    c->ntasks--;
    if (k < c->ninit) c->ninit--;
    memset(c->nops[c->ntasks], 0, sizeof c->nops[0]);
    for (j = 0; j < c->ntasks; j++)
        for (d = 0; d < MODEL_DEPTH; d++)
            for (s = 0; s < 2; s++) {
                for (i = o = 0; i < c->nops[j][d][s]; i++) {
                    model_op op = c->ops[j][d][s][i];
                    if (model_refers_to(&op, k)) continue;
                    if (model_names_task(op.kind) && op.a > k) op.a--;
                    c->ops[j][d][s][o++] = op;
                }
                c->nops[j][d][s] = (uint8_t)o;
            }
    return 1;
}

static inline void model_case_drop_op(model_case *c, int k, int d, int s, int i) {
    model_op *ops = c->ops[k][d][s];
    memmove(&ops[i], &ops[i + 1], (size_t)(c->nops[k][d][s] - i - 1) * sizeof ops[0]);
    c->nops[k][d][s]--;
}

/* Make the case smaller while it still diverges (at most `budget` runs). */
static inline void model_shrink(model_ctx *x, model_case *c, const model_opts *o, int budget) {
    model_result r;
    model_case t;
    int changed = 1;
#define MODEL__TRY()                                                          \
    do {                                                                      \
        budget--;                                                             \
        if (model_check_case(x, &t, o, &r)) {                                 \
            *c = t;                                                           \
            changed = 1;                                                      \
        }                                                                     \
    } while (0)
    while (changed && budget > 0) {
        int k, d, s, i;
        changed = 0;
        for (k = c->ntasks - 1; k >= 0 && budget > 0; k--) {
            t = *c;
            if (k < t.ntasks && model_case_drop_task(&t, k)) MODEL__TRY();
        }
        for (k = 0; k < c->ntasks && budget > 0; k++)
            for (d = MODEL_DEPTH - 1; d >= 0; d--)
                for (s = 1; s >= 0; s--) {
                    if (!c->nops[k][d][s]) continue;
                    t = *c;
                    t.nops[k][d][s] = 0;
                    MODEL__TRY();
                }
        for (k = 0; k < c->ntasks && budget > 0; k++)
            for (d = 0; d < MODEL_DEPTH; d++)
                for (s = 0; s < 2; s++)
                    for (i = c->nops[k][d][s] - 1; i >= 0 && budget > 0; i--) {
                        if (i >= c->nops[k][d][s]) continue;
                        t = *c;
                        model_case_drop_op(&t, k, d, s, i);
                        MODEL__TRY();
                    }
        for (k = 0; k < c->ntasks && budget > 0; k++)
            for (d = 0; d < MODEL_DEPTH; d++)
                for (s = 0; s < 2; s++)
                    for (i = 0; i < c->nops[k][d][s] && budget > 0; i++) {
                        model_op *op = &c->ops[k][d][s][i];
                        if (op->tmo > 1) {
                            t = *c;
                            t.ops[k][d][s][i].tmo = 1;
                            MODEL__TRY();
                        }
                        if (op->d > 0) {
                            t = *c;
                            t.ops[k][d][s][i].d = (uint8_t)(op->d - 1);
                            MODEL__TRY();
                        }
                        if (op->kind == MODEL_CALL && op->a) {
                            t = *c;
                            t.ops[k][d][s][i].a = 0;
                            MODEL__TRY();
                        }
                    }
        if (c->run_mode && budget > 0) {
            t = *c;
            t.run_mode = 0;
            MODEL__TRY();
        }
        if (c->ninit > 1 && budget > 0) {
            t = *c;
            t.ninit--;
            MODEL__TRY();
        }
        for (i = 0; i < MODEL_NQ && budget > 0; i++) {
            if (c->qcap[i] > 1) {
                t = *c;
                t.qcap[i]--;
                MODEL__TRY();
            }
            if (c->qkind[i] != MODEL_QFIFO) {
                t = *c;
                t.qkind[i] = MODEL_QFIFO;
                MODEL__TRY();
            }
        }
        for (i = 0; i < MODEL_NB && budget > 0; i++)
            if (c->bparties[i] > 1) {
                t = *c;
                t.bparties[i]--;
                MODEL__TRY();
            }
        for (i = 0; i < MODEL_NS && budget > 0; i++)
            if (c->sem0[i] > 0) {
                t = *c;
                t.sem0[i]--;
                MODEL__TRY();
            }
    }
#undef MODEL__TRY
}

/* Check a case; on a divergence print it, shrink it and print the minimal
 * reproduction.  Returns 1 on a divergence.  `seed` < 0: no seed. */
static inline int model_report(FILE *f, model_ctx *x, const model_case *c, const model_opts *o,
                               long long seed) {
    model_result r;
    model_case small;
    if (!model_check_case(x, c, o, &r)) return 0;
    fprintf(f, "\nmodel: async.h diverges from the reference model");
    if (seed >= 0) fprintf(f, " (seed %lld)", seed);
    fprintf(f, "\n%s  the case (%d ops):\n", r.msg, model_case_size(c));
    model_case_print(f, c);
    small = *c;
    model_shrink(x, &small, o, 4000);
    model_check_case(x, &small, o, &r);
    fprintf(f, "minimal reproduction (%d ops):\n", model_case_size(&small));
    model_case_print(f, &small);
    fprintf(f, "  and there: %s", r.msg);
    fflush(f);
    return 1;
}

#endif /* MODEL_H */
