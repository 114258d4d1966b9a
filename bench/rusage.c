/* rusage - run a command once with its stdout discarded and report what it
 * cost as a whole process: wall time, user+sys CPU and peak RSS (from
 * wait4, so the figures are the child's alone, runtime start-up included).
 * Usage: rusage CMD [ARGS...]; exits non-zero if CMD fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv) {
    struct rusage ru;
    int status, devnull;
    uint64_t t0, t1;
    pid_t pid;
    if (argc < 2) {
        fprintf(stderr, "usage: rusage CMD [ARGS...]\n");
        return 2;
    }
    fflush(stdout);
    t0 = bench_now_ns();
    pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) {
        devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) return perror("wait4"), 1;
    t1 = bench_now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "rusage: %s failed (status %d)\n", argv[1], status);
        return 1;
    }
    printf("RESULT wall_s=%.6f cpu_ms=%.3f rss_mib=%.2f\n", (double)(t1 - t0) / 1e9,
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
           (double)ru.ru_maxrss / 1024.0);
    return 0;
}
