/* The loop's timer structure on its own (async__timers: insert, remove,
 * peek, pop), without a loop: random sequences checked against a plain
 * reference (an unsorted array scanned for its minimum by deadline, then
 * start order), and FIFO order for equal deadlines.  These tests use only
 * the API, so another structure put behind it must pass them unchanged;
 * check_shape() adds the binary heap's own invariants (async.h, "timers"). */
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

/* Structure-specific: node k exists for k <= n only (complete tree), is
 * never before its parent, and links back to it. */
static size_t check_node(const async__node *n, const async__node *parent, size_t k) {
    size_t count = 1;
    cr_assert_leq(k, tf.tm.n, "node number %zu beyond %zu: not complete", k, tf.tm.n);
    cr_assert_eq(n->link.h.parent, parent, "broken parent link at node %zu", k);
    if (parent) cr_assert(!async__timer_before(n, parent), "order violated at node %zu", k);
    if (n->link.h.left) count += check_node(n->link.h.left, n, 2 * k);
    if (n->link.h.right) count += check_node(n->link.h.right, n, 2 * k + 1);
    return count;
}

static void check_shape(void) {
    size_t count = tf.tm.root ? check_node(tf.tm.root, NULL, 1) : 0;
    cr_assert_eq(count, tf.tm.n);
    cr_assert_eq(count, (size_t)tf.npresent);
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

static void run_random(uint32_t seed, int ops, uint64_t deadline_range, uint32_t first_seq) {
    int op;
    setup(first_seq);
    for (op = 0; op < ops; op++) {
        uint32_t r = xorshift32(&seed) % 100;
        if (r < 50 && tf.npresent < CAP) { /* insert a node not in */
            int i = (int)(xorshift32(&seed) % CAP);
            while (tf.in[i]) i = (i + 1) % CAP;
            insert(i, xorshift32(&seed) % deadline_range);
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
