/* cpu_timers.h — one CPU-time timer per thread, from perf_event task clocks.
 *
 * On these kernels setitimer(ITIMER_PROF) and POSIX CPU-clock timers are
 * checked at the scheduler tick (250 Hz here), however short the period
 * asked for. A perf_event software task clock per thread overflows every
 * `period` of that thread's CPU time, exactly, and with O_ASYNC + F_SETSIG +
 * F_SETOWN_EX(TID) the kernel signals that very thread. So each thread is
 * sampled in proportion to the CPU it uses, up to 10 kHz and beyond.
 *
 * Threads are found by scanning /proc/self/task (the writer does it every
 * flush, so threads Python did not create are covered too), and a Python
 * thread registers itself as it starts, so short threads are not missed. */
#ifndef PYROMETER_CPU_TIMERS_H
#define PYROMETER_CPU_TIMERS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#define CPU_TIMERS_MAX_THREADS 4096
#define CPU_TIMERS_MAX_EXCLUDED 4

typedef struct cpu_timer {
    pid_t tid;
    int fd;
    int seen;                  /* scratch for the scan */
} cpu_timer;

typedef struct cpu_timers {
    pthread_mutex_t lock;
    cpu_timer *timers;
    size_t count;
    uint64_t period_ns;
    int signo;
    pid_t excluded[CPU_TIMERS_MAX_EXCLUDED];  /* the profiler's own threads */
    size_t excluded_count;
    unsigned long open_failures;
    int last_errno;
} cpu_timers;

/* Empties t; call before anything else (exclusions may come before start). */
void cpu_timers_init(cpu_timers *t);
/* Probes perf_event on the calling thread and, when it works, arms a timer
 * for every thread of the process. 0, or -1 with errno (perf_event not
 * allowed: the caller falls back to ITIMER_PROF). */
int cpu_timers_start(cpu_timers *t, uint64_t period_ns, int signo);
/* Arms a timer for a thread if it has none (idempotent). */
void cpu_timers_watch(cpu_timers *t, pid_t tid);
/* Never arms a timer for this thread (the profiler's own). */
void cpu_timers_exclude(cpu_timers *t, pid_t tid);
/* Arms timers for new threads and closes those of threads that ended. */
void cpu_timers_rescan(cpu_timers *t);
/* Disarms and closes every timer. */
void cpu_timers_stop(cpu_timers *t);
/* In a forked child: the timers belong to the parent's threads; close them. */
void cpu_timers_forget_after_fork(cpu_timers *t);

#endif
