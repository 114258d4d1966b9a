/* tests/posix_only.h - force-included (-include) by `make posix`, before any
 * other header, to prove that async.h, its tests and its examples build and
 * pass with POSIX.1-2008 alone: what macOS and the BSDs give.  No macOS
 * machine exists here, so Linux stands in for one with every name that is
 * Linux's own (or missing on macOS) made a compile error.
 *
 * It pulls in the system headers first, with _POSIX_C_SOURCE=200809L and no
 * _GNU_SOURCE, then removes the Linux-only macros those headers defined and
 * poisons the names: a later use, even in #ifdef, does not compile.  Headers
 * included later are already guarded, so they do not bring the names back. */
#ifndef TEST_POSIX_ONLY_H
#define TEST_POSIX_ONLY_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE != 200809L
#error "posix_only.h: compile with -D_POSIX_C_SOURCE=200809L"
#endif
#if defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE) || defined(_BSD_SOURCE) || defined(_XOPEN_SOURCE)
#error "posix_only.h: no _GNU_SOURCE, _DEFAULT_SOURCE, _BSD_SOURCE or _XOPEN_SOURCE here"
#endif
#ifndef ASYNC_POSIX_ONLY
#error "posix_only.h: compile with -DASYNC_POSIX_ONLY"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Macros glibc defines even in strict POSIX mode that macOS lacks (or that
 * are Linux's): socket flags, MSG_NOSIGNAL, Linux clocks, absolute sleeps. */
#undef MSG_NOSIGNAL
#undef SOCK_NONBLOCK
#undef SOCK_CLOEXEC
#undef CLOCK_BOOTTIME
#undef CLOCK_BOOTTIME_ALARM
#undef CLOCK_REALTIME_ALARM
#undef CLOCK_MONOTONIC_COARSE
#undef CLOCK_REALTIME_COARSE
#undef CLOCK_TAI
#undef TIMER_ABSTIME
#undef MSG_MORE
#undef MSG_CMSG_CLOEXEC
#undef O_DIRECT
#undef O_PATH
#undef O_TMPFILE
#undef SO_PEERCRED

#pragma GCC poison MSG_NOSIGNAL SOCK_NONBLOCK SOCK_CLOEXEC MSG_MORE MSG_CMSG_CLOEXEC
#pragma GCC poison CLOCK_BOOTTIME CLOCK_BOOTTIME_ALARM CLOCK_REALTIME_ALARM
#pragma GCC poison CLOCK_MONOTONIC_COARSE CLOCK_REALTIME_COARSE CLOCK_TAI TIMER_ABSTIME
#pragma GCC poison O_DIRECT O_PATH O_TMPFILE SO_PEERCRED
/* Linux system calls and their headers' names (never included: poisoned
 * so that including sys/epoll.h, sys/eventfd.h or sys/timerfd.h fails too). */
#pragma GCC poison epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_event
#pragma GCC poison timerfd_create timerfd_settime timerfd_gettime eventfd eventfd_read eventfd_write
#pragma GCC poison signalfd inotify_init inotify_init1 accept4 pipe2 dup3 ppoll
#pragma GCC poison sendmmsg recvmmsg splice tee vmsplice sendfile memfd_create getrandom
/* POSIX, but missing on macOS: async.h must not need them. */
#pragma GCC poison clock_nanosleep sigtimedwait sigwaitinfo
/* GNU extensions */
#pragma GCC poison pthread_tryjoin_np pthread_timedjoin_np pthread_setname_np gettid

#endif
