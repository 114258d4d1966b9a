/* `make windows`: async.h as a compiler that is not GNU-compatible (MSVC,
 * which cannot run here) would see it.  The system headers come first, as
 * the compiler needs them; then the macros that announce GNU C are removed
 * and GNU's keywords and builtins poisoned, so that every GNU-only construct
 * in async.h that is not behind an #if for it fails to compile, and the
 * fallbacks behind those #ifs are compiled and run.  The program is
 * tests/compile_all.c: every public macro, run once.  Built without -Werror:
 * gcc warns that __has_attribute is undefined, as it has to be (MSVC has no
 * __has_attribute); poisoned names are errors all the same. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <winsock2.h>
#include <windows.h>
#undef __GNUC__
#undef __GNUC_MINOR__
#undef __GNUC_PATCHLEVEL__
#undef __clang__
#undef __has_attribute
/* gcc keeps its extensions without those macros: poison the keywords and
 * builtins too, so that using one unguarded is an error, not a pass. */
#pragma GCC poison __attribute__ __extension__ __typeof__ __typeof typeof __auto_type __label__
#pragma GCC poison __asm__ __asm asm __builtin_expect __builtin_unreachable __builtin_clzll
#pragma GCC poison __builtin_ctzll __builtin_popcountll __builtin_offsetof __builtin_trap
#pragma GCC poison __atomic_load_n __atomic_store_n __atomic_exchange_n
#pragma GCC poison __atomic_compare_exchange_n __atomic_add_fetch __atomic_sub_fetch
#pragma GCC poison __sync_synchronize __sync_fetch_and_add
#include "tests/compile_all.c"
