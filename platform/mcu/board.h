/* board.h - the bits of an ARM MPS2 board (AN385 image: a Cortex-M3 at
 * 25 MHz) that the bare-metal programs here use, as QEMU models it
 * (`qemu-system-arm -M mps2-an385`): SysTick, the FPGA I/O LED register,
 * and semihosting for output and exit.  Implemented in startup.c. */
#ifndef BOARD_H
#define BOARD_H
#include <stdint.h>

#define BOARD_CPU_HZ 25000000u /* the AN385 image's system clock */
#define BOARD_TICK_HZ 1000u    /* SysTick rate set by board_start_ticks */

/* Start SysTick: an interrupt every 1 ms that counts time. */
void board_start_ticks(void);
/* Time since board_start_ticks in ns, a multiple of 1 ms (read with
 * interrupts masked: a 64-bit counter is two words on this CPU). */
uint64_t board_now_ns(void);
/* Sleep (WFI) until an interrupt if `deadline` (ns) has not come yet; returns
 * after the interrupt has run.  Returns 1 if it slept. */
int board_sleep_until(uint64_t deadline);
/* SysTick interrupts so far. */
uint32_t board_ticks(void);
/* The two user LEDs (bits 0 and 1). */
void board_leds(unsigned bits);

/* Semihosting: write a NUL-terminated string to the host's console; end
 * the program (QEMU exits with status 0 if ok, 1 otherwise). */
void board_puts(const char *s);
void board_exit(int ok);

/* Stack use: the deepest the stack has been since reset, in bytes (the
 * stack is painted at reset and the untouched part is counted). */
uint32_t board_stack_used(void);
#endif
