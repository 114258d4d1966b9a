/* W1 count, POSIX threads: one thread per count, each blocking in its own
 * sleep.  Usage: w1_pthread [seconds]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct timespec nap;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER; /* keep lines whole */

static void say(const char *s) {
    pthread_mutex_lock(&out);
    puts(s);
    pthread_mutex_unlock(&out);
}

static void *count(void *arg) {
    (void)arg;
    say("One");
    nanosleep(&nap, NULL);
    say("Two");
    return NULL;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    pthread_t th[3];
    int i;
    nap.tv_sec = (time_t)seconds;
    nap.tv_nsec = (long)((seconds - (double)nap.tv_sec) * 1e9);
    for (i = 0; i < 3; i++)
        if (pthread_create(&th[i], NULL, count, NULL) != 0) return 1;
    for (i = 0; i < 3; i++) pthread_join(th[i], NULL);
    return 0;
}
