/* W8 with -DASYNC_TIMER_HEAP: the same program on the binary heap alone,
 * without the timing wheel in front (a diagnostic row: wheel against heap). */
#define ASYNC_TIMER_HEAP 1
#include "w8_async.c"
