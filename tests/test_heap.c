/* The loop's timer structure on its own (async__timers: insert, remove,
 * peek, pop), without a loop: random sequences checked against a plain
 * reference (an unsorted array scanned for its minimum by deadline, then
 * start order), and FIFO order for equal deadlines.  These tests use only
 * the API, so another structure put behind it must pass them unchanged;
 * check_shape() adds the structure's own invariants (async.h, "timers"). */
#include "helpers.h"

enum { CAP = 2048 };

typedef struct {
    async__timers tm;
    async__node node[CAP];
    uint64_t order[CAP]; /* reference: when each node was inserted */
    int in[CAP];
    int present[CAP]; /* reference: indices of the nodes in the structure */
    int npresent;
    uint64_t inserts;
} timers_fixture;

static timers_fixture tf;

/* The structure's own invariants (async.h, "timers": heap shape and order,
 * the due list sorted, every wheel node in the slot the placement rule
 * gives, the counts), and every node found exactly once. */
static void check_shape(void) {
    static const async__node *seen[CAP + 1];
    size_t count = 0, i;
    const char *broken = async__timers_verify(&tf.tm, seen, CAP + 1, &count);
    cr_assert_null(broken, "timer structure broken: %s", broken ? broken : "");
    cr_assert_eq(count, tf.tm.n);
    cr_assert_eq(count, (size_t)tf.npresent);
    for (i = 0; i < count; i++) {
        int k = (int)(seen[i] - tf.node);
        cr_assert(k >= 0 && k < CAP && tf.in[k], "a node that is not in was found");
        tf.in[k] = 2; /* found once */
    }
    for (i = 0; i < CAP; i++) {
        cr_assert_neq(tf.in[i], 1, "node %zu is in but was not found", i);
        if (tf.in[i] == 2) tf.in[i] = 1;
    }
}

/* The reference's earliest: smallest deadline, then earliest insert. */
static int ref_min(void) {
    int best = -1, i;
    for (i = 0; i < tf.npresent; i++) {
        int c = tf.present[i], b = best < 0 ? -1 : tf.present[best];
        if (best < 0 || tf.node[c].deadline < tf.node[b].deadline ||
            (tf.node[c].deadline == tf.node[b].deadline && tf.order[c] < tf.order[b]))
            best = i;
    }
    return best;
}

static void ref_drop(int pos) {
    tf.in[tf.present[pos]] = 0;
    tf.present[pos] = tf.present[--tf.npresent];
}

static void setup(uint32_t first_seq) {
    memset(&tf, 0xA5, sizeof tf); /* init must not read the structure */
    async__timers_init(&tf.tm);
    memset(tf.in, 0, sizeof tf.in);
    tf.npresent = 0;
    tf.inserts = 0;
    tf.tm.seq = first_seq; /* (heap detail: start the wrapping counter here) */
}

static void insert(int i, uint64_t deadline) {
    tf.node[i].deadline = deadline;
    async__timers_insert(&tf.tm, &tf.node[i]);
    cr_assert_eq(tf.node[i].where, ASYNC__W_SLEEPING);
    tf.order[i] = tf.inserts++;
    tf.in[i] = 1;
    tf.present[tf.npresent++] = i;
}

static uint64_t rand64(uint32_t *seed) {
    uint64_t hi = xorshift32(seed);
    return hi << 32 | xorshift32(seed);
}

static void run_random(uint32_t seed, int ops, uint64_t deadline_range, uint32_t first_seq) {
    int op;
    setup(first_seq);
    for (op = 0; op < ops; op++) {
        uint32_t r = xorshift32(&seed) % 100;
        if (r < 50 && tf.npresent < CAP) { /* insert a node not in */
            int i = (int)(xorshift32(&seed) % CAP);
            while (tf.in[i]) i = (i + 1) % CAP;
            insert(i, rand64(&seed) % deadline_range);
        } else if (r < 75 && tf.npresent > 0) { /* remove an arbitrary node */
            int pos = (int)(xorshift32(&seed) % (uint32_t)tf.npresent);
            async__timers_remove(&tf.tm, &tf.node[tf.present[pos]]);
            cr_assert_eq(tf.node[tf.present[pos]].where, ASYNC__W_IDLE);
            ref_drop(pos);
        } else if (tf.npresent > 0) { /* peek, then pop the earliest */
            int pos = ref_min();
            cr_assert_eq(async__timers_peek(&tf.tm), &tf.node[tf.present[pos]],
                         "op %d (seed %u): peek is not the earliest timer", op, seed);
            cr_assert_eq(async__timers_pop(&tf.tm), &tf.node[tf.present[pos]]);
            ref_drop(pos);
        }
        cr_assert_eq(tf.tm.n, (size_t)tf.npresent, "op %d: count", op);
        if (op % 97 == 0) check_shape();
    }
    check_shape();
    /* drain: everything comes out in (deadline, start order) order */
    while (tf.npresent > 0) {
        int pos = ref_min();
        cr_assert_eq(async__timers_pop(&tf.tm), &tf.node[tf.present[pos]]);
        ref_drop(pos);
    }
    cr_assert_null(async__timers_peek(&tf.tm));
    cr_assert_null(async__timers_pop(&tf.tm), "pop of an empty structure gives NULL");
    cr_assert_eq(tf.tm.n, 0);
}

Test(timers, random_operations_match_reference_wide_deadlines, .timeout = 60) {
    run_random(1, 100000, 1u << 30, 0);
}

Test(timers, random_operations_match_reference_deadlines_up_to_2_to_the_64, .timeout = 60) {
    run_random(4, 100000, UINT64_MAX, 0); /* past the wheel's reach: the heap */
}

Test(timers, random_operations_match_reference_deadlines_within_a_minute, .timeout = 60) {
    run_random(5, 100000, (uint64_t)60 * 1000000000u, 0); /* every level of the wheel */
}

Test(timers, random_operations_match_reference_many_ties, .timeout = 60) {
    run_random(2, 100000, 8, 0); /* ties decided by start order */
}

Test(timers, start_order_survives_the_sequence_number_wrapping, .timeout = 60) {
    run_random(3, 50000, 4, UINT32_MAX - 20000);
}

Test(timers, equal_deadlines_pop_in_insert_order_even_after_removals) {
    int i;
    setup(0);
    for (i = 0; i < 1000; i++) insert(i, 42);
    for (i = 0; i < 1000; i += 3) { /* take every third out of the middle */
        async__timers_remove(&tf.tm, &tf.node[i]);
        tf.in[i] = 0;
    }
    for (i = 0; i < 1000; i++) {
        if (i % 3 == 0) continue;
        cr_assert_eq(async__timers_pop(&tf.tm), &tf.node[i], "FIFO broken at %d", i);
    }
    cr_assert_null(async__timers_peek(&tf.tm));
}

Test(timers, ascending_and_descending_inserts) {
    int i;
    setup(0);
    for (i = 0; i < 1000; i++) insert(i, (uint64_t)(i < 500 ? i : 1500 - i));
    check_shape();
    for (i = 0; i < 1000; i++) {
        const async__node *n = async__timers_pop(&tf.tm);
        /* deadlines were 0..499 and 1000 down to 501 */
        cr_assert_eq(n->deadline, (uint64_t)(i < 500 ? i : i + 1),
                     "pop %d gave deadline %llu", i, (unsigned long long)n->deadline);
    }
}

/* As a loop uses it: the clock moves forward, timers start at now + a delay
 * of any scale (1 ns to days, many equal), some are cancelled, and
 * async__timers_until(now) hands out exactly the expired ones, in order. */
Test(timers, a_moving_clock_gets_exactly_the_expired_timers_in_order, .timeout = 60) {
    static const uint64_t scale[] = {1, 1000, 1u << 20, 1000000, 10000000, 1000000000,
                                     (uint64_t)3600 * 1000000000u,
                                     (uint64_t)86400 * 1000000000u * 30};
    uint32_t seed = 6;
    uint64_t now = 0;
    int op, fired = 0;
    setup(0);
    for (op = 0; op < 200000; op++) {
        uint32_t r = xorshift32(&seed) % 100;
        if (r < 45 && tf.npresent < CAP) {
            int i = (int)(xorshift32(&seed) % CAP);
            uint64_t delay = scale[xorshift32(&seed) % 8];
            while (tf.in[i]) i = (i + 1) % CAP;
            /* a third share one deadline per scale: FIFO ties */
            insert(i, now + (r % 3 ? delay * (1 + xorshift32(&seed) % 64) : delay));
        } else if (r < 65 && tf.npresent > 0) {
            int pos = (int)(xorshift32(&seed) % (uint32_t)tf.npresent);
            async__timers_remove(&tf.tm, &tf.node[tf.present[pos]]);
            ref_drop(pos);
        } else { /* time passes; fire what expired */
            async__node *n;
            now += scale[xorshift32(&seed) % 6] * (xorshift32(&seed) % 8);
            while ((n = async__timers_until(&tf.tm, now)) != NULL) {
                int pos = ref_min();
                cr_assert_geq(pos, 0, "op %d: until() gave a timer the reference has not", op);
                cr_assert_eq(n, &tf.node[tf.present[pos]], "op %d: not the earliest", op);
                cr_assert_leq(n->deadline, now);
                async__timers_remove(&tf.tm, n);
                ref_drop(pos);
                fired++;
            }
            if (tf.npresent > 0) {
                int pos = ref_min();
                cr_assert_gt(tf.node[tf.present[pos]].deadline, now, "op %d: an expired timer left", op);
            }
        }
        if (op % 101 == 0) check_shape();
    }
    check_shape();
    cr_assert_gt(fired, 10000, "the test fired too few timers to mean much (%d)", fired);
}

/* Equal deadlines keep start order when some are started before the wheel
 * has taken their slot and some after (those go to the heap). */
Test(timers, equal_deadlines_keep_start_order_across_wheel_and_heap) {
    int i;
    setup(0);
    for (i = 0; i < 500; i++) insert(i, 5000000);
    cr_assert_eq(async__timers_peek(&tf.tm), &tf.node[0]); /* takes the slot */
    for (i = 500; i < 1000; i++) insert(i, 5000000);      /* now before the horizon */
    check_shape();
    cr_assert_gt(tf.tm.nheap, 0, "the late ones should be in the heap");
    for (i = 0; i < 1000; i++)
        cr_assert_eq(async__timers_pop(&tf.tm), &tf.node[i], "FIFO broken at %d", i);
    cr_assert_null(async__timers_pop(&tf.tm));
}

static void expect_pop(int i) {
    int pos;
    cr_assert_eq(async__timers_pop(&tf.tm), &tf.node[i], "expected node %d", i);
    for (pos = 0; tf.present[pos] != i; pos++) {
    }
    ref_drop(pos);
}

/* Deadlines at the far end of the clock: never wrap the wheel. */
Test(timers, deadlines_at_the_end_of_time) {
    static const uint64_t d[] = {UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63,
                                 ((uint64_t)1 << 63) - 1, ((uint64_t)1 << 56) + 5, 7};
    int i;
    setup(0);
    for (i = 0; i < 6; i++) insert(i, d[i]);
    check_shape();
    cr_assert_eq(async__timers_until(&tf.tm, 6), NULL);
    expect_pop(5);
    expect_pop(4);
    insert(5, ((uint64_t)1 << 62)); /* after the wheel moved far */
    check_shape();
    expect_pop(5);
    expect_pop(3);
    expect_pop(2);
    expect_pop(1);
    expect_pop(0);
    cr_assert_eq(tf.tm.n, 0);
    check_shape();
}
