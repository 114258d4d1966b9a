/* baseline.c - the same startup, SysTick, WFI and semihosting as blinky.c,
 * without async.h: its size is subtracted from blinky's to tell what the
 * loop and the tasks cost in flash and RAM (platform/mcu/run.sh). */
#include "board.h"

int main(void) {
    board_puts("baseline: no loop\n");
    board_start_ticks();
    while (board_now_ns() < 10000000u) board_sleep_until(10000000u);
    board_puts("result: ok\n");
    return 0;
}
