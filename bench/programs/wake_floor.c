/* wake_floor.c — the CPU a thread uses just to sleep and wake at a rate,
 * with nothing else to do: the floor under any in-process sampler's own
 * cost per sample on this machine. Sleeps to absolute deadlines with 1 ns
 * timer slack, as pyrometer's ticker does, for SECONDS at each HZ given,
 * and prints "HZ WAKES_PER_SECOND CPU_US_PER_WAKE" per line.
 * Usage: wake_floor SECONDS HZ... */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static double clock_seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: wake_floor SECONDS HZ...\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    for (int i = 2; i < argc; i++) {
        long hz = atol(argv[i]);
        if (hz <= 0 || seconds <= 0)
            return 2;
        long period_ns = 1000000000L / hz, wakes = (long)(seconds * (double)hz);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        double cpu0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID), wall0 = clock_seconds(CLOCK_MONOTONIC);
        for (long w = 0; w < wakes; w++) {
            next.tv_nsec += period_ns;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000L;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        double cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0, wall = clock_seconds(CLOCK_MONOTONIC) - wall0;
        printf("%ld %.0f %.2f\n", hz, (double)wakes / wall, cpu / (double)wakes * 1e6);
    }
    return 0;
}
