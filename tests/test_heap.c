/* The timer heap on its own: random insert / remove / pop sequences checked
 * against a plain reference (an unsorted array scanned for its minimum), with
 * the heap's invariants verified as it goes. */
#include "helpers.h"

enum { CAP = 2048 };

typedef struct {
    async_loop loop;
    async__node node[CAP];
    int in_heap[CAP];
    int present[CAP]; /* reference: indices of the nodes in the heap */
    int npresent;
} heap_fixture;

static heap_fixture hf;

/* Walk the tree: node k must exist for k <= nheap only (shape), never be
 * before its parent (order), and link back to its parent (links). */
static size_t check_node(const async__node *n, const async__node *parent, size_t k) {
    size_t count = 1;
    cr_assert_leq(k, hf.loop.nheap, "node number %zu beyond %zu: not complete", k, hf.loop.nheap);
    cr_assert_eq(n->link.h.parent, parent, "broken parent link at node %zu", k);
    if (parent) cr_assert(!async__timer_before(n, parent), "order violated at node %zu", k);
    if (n->link.h.left) count += check_node(n->link.h.left, n, 2 * k);
    if (n->link.h.right) count += check_node(n->link.h.right, n, 2 * k + 1);
    return count;
}

static void check_heap(void) {
    size_t count = hf.loop.heap ? check_node(hf.loop.heap, NULL, 1) : 0;
    cr_assert_eq(count, hf.loop.nheap);
    cr_assert_eq(count, (size_t)hf.npresent);
}

static int ref_min(void) {
    int best = -1, i;
    for (i = 0; i < hf.npresent; i++) {
        int c = hf.present[i];
        if (best < 0 || async__timer_before(&hf.node[c], &hf.node[hf.present[best]])) best = i;
    }
    return best;
}

static void ref_drop(int pos) {
    hf.in_heap[hf.present[pos]] = 0;
    hf.present[pos] = hf.present[--hf.npresent];
}

static void run_random(uint32_t seed, int ops, uint64_t deadline_range, uint32_t first_seq) {
    int op;
    memset(&hf, 0, sizeof hf);
    async_loop_init(&hf.loop, ASYNC_VIRTUAL);
    hf.loop.seq = first_seq;
    for (op = 0; op < ops; op++) {
        uint32_t r = xorshift32(&seed) % 100;
        if (r < 50 && hf.npresent < CAP) { /* insert a node not in the heap */
            int i = (int)(xorshift32(&seed) % CAP);
            while (hf.in_heap[i]) i = (i + 1) % CAP;
            hf.node[i].deadline = xorshift32(&seed) % deadline_range;
            async__heap_insert(&hf.loop, &hf.node[i]);
            hf.in_heap[i] = 1;
            hf.present[hf.npresent++] = i;
        } else if (r < 75 && hf.npresent > 0) { /* remove an arbitrary node */
            int pos = (int)(xorshift32(&seed) % (uint32_t)hf.npresent);
            async__heap_remove(&hf.loop, &hf.node[hf.present[pos]]);
            ref_drop(pos);
        } else if (hf.npresent > 0) { /* pop the minimum */
            int pos = ref_min();
            cr_assert_eq(hf.loop.heap, &hf.node[hf.present[pos]],
                         "op %d (seed %u): heap root is not the earliest timer", op, seed);
            async__heap_remove(&hf.loop, hf.loop.heap);
            ref_drop(pos);
        }
        if (op % 97 == 0) check_heap();
    }
    check_heap();
    /* drain: everything comes out in (deadline, seq) order */
    while (hf.npresent > 0) {
        int pos = ref_min();
        cr_assert_eq(hf.loop.heap, &hf.node[hf.present[pos]]);
        async__heap_remove(&hf.loop, hf.loop.heap);
        ref_drop(pos);
    }
    cr_assert_null(hf.loop.heap);
    cr_assert_eq(hf.loop.nheap, 0);
}

Test(heap, random_operations_match_reference_wide_deadlines, .timeout = 60) {
    run_random(1, 100000, 1u << 30, 0);
}

Test(heap, random_operations_match_reference_many_ties, .timeout = 60) {
    run_random(2, 100000, 8, 0); /* ties decided by the sequence number */
}

Test(heap, sequence_number_wraps_without_reordering, .timeout = 60) {
    run_random(3, 50000, 4, UINT32_MAX - 20000);
}

Test(heap, ascending_and_descending_inserts) {
    int i;
    memset(&hf, 0, sizeof hf);
    async_loop_init(&hf.loop, ASYNC_VIRTUAL);
    for (i = 0; i < 1000; i++) {
        hf.node[i].deadline = (uint64_t)(i < 500 ? i : 1500 - i);
        async__heap_insert(&hf.loop, &hf.node[i]);
        hf.present[hf.npresent++] = i;
    }
    check_heap();
    for (i = 0; i < 1000; i++) {
        const async__node *root = hf.loop.heap;
        /* deadlines were 0..499 and 1000 down to 501 */
        cr_assert_eq(root->deadline, (uint64_t)(i < 500 ? i : i + 1),
                     "pop %d gave deadline %llu", i, (unsigned long long)root->deadline);
        async__heap_remove(&hf.loop, hf.loop.heap);
        hf.npresent--;
    }
}
