/* startup.c - reset, vector table, SysTick and semihosting for a Cortex-M3
 * on QEMU's mps2-an385 board, with nothing from a vendor SDK.  Memory layout
 * in mps2-an385.ld.
 *
 * Reset copies .data from flash, zeroes .bss, paints the stack (so that
 * board_stack_used can measure it), calls main() and ends the program
 * through semihosting with main's verdict. */
#include <string.h>
#include "board.h"

/* ---- registers -------------------------------------------------------------- */

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SYST_CSR REG(0xE000E010u)   /* SysTick control and status */
#define SYST_RVR REG(0xE000E014u)   /* reload value */
#define SYST_CVR REG(0xE000E018u)   /* current value */
#define SYST_CSR_ENABLE 1u
#define SYST_CSR_TICKINT 2u
#define SYST_CSR_CLKSOURCE 4u       /* the processor clock */
#define FPGAIO_LED REG(0x40028000u) /* MPS2 FPGA I/O: user LEDs */

/* ---- from the linker script ------------------------------------------------- */

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _sstack[], _estack[];

#define STACK_PAINT 0xC0FFEE55u

/* ---- semihosting ------------------------------------------------------------------
 * A BKPT 0xAB with the operation in r0 and its argument in r1; the debugger
 * (here QEMU, with -semihosting-config enable=on) carries it out. */

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static int semihost(int op, uintptr_t arg) {
    register int r0 __asm("r0") = op;
    register uintptr_t r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s) {
    semihost(SYS_WRITE0, (uintptr_t)s);
}

void board_exit(int ok) {
    for (;;) semihost(SYS_EXIT, ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
}

/* ---- time ------------------------------------------------------------------------ */

static volatile uint64_t board_ns; /* advanced by the SysTick interrupt */
static volatile uint32_t board_nticks;

void board_start_ticks(void) {
    SYST_RVR = BOARD_CPU_HZ / BOARD_TICK_HZ - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint64_t board_now_ns(void) {
    uint32_t primask;
    uint64_t t;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    t = board_ns;
    __asm volatile("msr primask, %0" : : "r"(primask) : "memory");
    return t;
}

int board_sleep_until(uint64_t deadline) {
    int slept = 0;
    /* With interrupts masked, test and sleep: a tick that comes between the
     * two still ends the WFI (it wakes on a pending interrupt), and runs
     * once they are unmasked. */
    __asm volatile("cpsid i" : : : "memory");
    if (board_ns < deadline) {
        __asm volatile("dsb\n\twfi" : : : "memory");
        slept = 1;
    }
    __asm volatile("cpsie i\n\tisb" : : : "memory");
    return slept;
}

uint32_t board_ticks(void) {
    return board_nticks;
}

void board_leds(unsigned bits) {
    FPGAIO_LED = bits & 3u;
}

uint32_t board_stack_used(void) {
    const uint32_t *p = _sstack;
    while (p < _estack && *p == STACK_PAINT) p++;
    return (uint32_t)((uintptr_t)_estack - (uintptr_t)p);
}

/* ---- handlers and the vector table -------------------------------------------- */

int main(void);

void Reset_Handler(void);
void Reset_Handler(void) {
    uint32_t *p;
    memcpy(_sdata, _sidata, (size_t)((uintptr_t)_edata - (uintptr_t)_sdata));
    memset(_sbss, 0, (size_t)((uintptr_t)_ebss - (uintptr_t)_sbss));
    /* paint the stack below the current frame (keep 64 bytes of margin) */
    {
        volatile uint32_t here;
        for (p = _sstack; p + 16 < (uint32_t *)(uintptr_t)&here; p++) *p = STACK_PAINT;
    }
    board_exit(main() == 0);
}

static void SysTick_Handler(void) {
    board_ns += 1000000000u / BOARD_TICK_HZ;
    board_nticks++;
}

static void Fault_Handler(void) {
    board_puts("fault: HardFault or another exception\n");
    board_exit(0);
}

typedef void (*board_handler)(void);
struct board_vectors {
    uint32_t *initial_sp;
    board_handler handlers[15]; /* Reset .. SysTick */
};

__attribute__((section(".vectors"), used))
static const struct board_vectors board_vector_table = {
    _estack,
    {
        Reset_Handler,
        Fault_Handler, /* NMI */
        Fault_Handler, /* HardFault */
        Fault_Handler, /* MemManage */
        Fault_Handler, /* BusFault */
        Fault_Handler, /* UsageFault */
        0, 0, 0, 0,    /* reserved */
        Fault_Handler, /* SVCall */
        Fault_Handler, /* DebugMon */
        0,             /* reserved */
        Fault_Handler, /* PendSV */
        SysTick_Handler,
    },
};
