/* probe - machine facts that explain some figures, for RESULTS.md: what the
 * first touch of freshly allocated memory costs per 4 KiB page.  W3's first
 * pass and W4's spawning touch new memory, so a slow page fault (as under
 * some hypervisors) shows up there and not in the library. */
#include "bench.h"
#include <sys/mman.h>

int main(void) {
    size_t len = 64u << 20, i;
    uint64_t t0;
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    t0 = bench_now_ns();
    for (i = 0; i < len; i += 4096) p[i] = 1;
    printf("RESULT page_fault_us=%.2f\n",
           (double)(bench_now_ns() - t0) / 1e3 / (double)(len / 4096));
    return 0;
}
