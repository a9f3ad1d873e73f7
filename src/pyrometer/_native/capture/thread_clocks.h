/* thread_clocks.h — which threads used CPU since the last look, from their
 * own CPU-time clocks.
 *
 * CPU mode cannot rely on the kernel's CPU-time timers here:
 * setitimer(ITIMER_PROF) and POSIX CPU-clock timers are checked at the
 * scheduler tick (250 Hz), and a perf_event task clock delivers the rate but
 * costs ~29 µs per signal in these VMs. So the ticker thread reads each
 * thread's CPU clock (a per-thread clockid works for any thread of the
 * process) every period, and asks a thread for a sample once it has used a
 * period of CPU. Sleeping or blocked threads use none, so they are never
 * signalled. A thread the ticker could not look at for a while gets a
 * weight (how many periods it used), so the sample count still matches CPU
 * time when the machine is busy.
 *
 * Threads are found by scanning /proc/self/task (threads Python did not
 * create are covered too); a Python thread also registers itself as it
 * starts, so short threads are not missed. */
#ifndef PYROMETER_THREAD_CLOCKS_H
#define PYROMETER_THREAD_CLOCKS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define THREAD_CLOCKS_MAX_THREADS 4096
#define THREAD_CLOCKS_MAX_EXCLUDED 4
/* One sample never stands for more than this many periods. */
#define THREAD_CLOCKS_MAX_WEIGHT 100

typedef struct thread_clock {
    pid_t tid;
    clockid_t clock;
    uint64_t last_ns;       /* CPU time at the last look */
    uint64_t owed_ns;       /* CPU time not yet covered by a sample */
    int seen;               /* scratch for the scan */
} thread_clock;

typedef struct thread_clocks {
    pthread_mutex_t lock;
    thread_clock *threads;
    size_t count;
    uint64_t period_ns;
    pid_t excluded[THREAD_CLOCKS_MAX_EXCLUDED];  /* the profiler's own threads */
    size_t excluded_count;
} thread_clocks;

/* Called for each thread that is owed a sample, with the periods it stands for. */
typedef void (*thread_clocks_due_fn)(pid_t tid, int weight, void *ctx);

/* Empties t and sets the period. 0, or -1 on ENOMEM. */
int thread_clocks_init(thread_clocks *t, uint64_t period_ns);
void thread_clocks_free(thread_clocks *t);
/* Starts following a thread (idempotent); its CPU time so far is not owed. */
void thread_clocks_watch(thread_clocks *t, pid_t tid);
/* Never follows this thread (the profiler's own). */
void thread_clocks_exclude(thread_clocks *t, pid_t tid);
/* Follows threads that appeared and forgets those that ended. */
void thread_clocks_rescan(thread_clocks *t);
/* Forgets CPU time used so far (after a pause: it is owed no samples). */
void thread_clocks_forgive(thread_clocks *t);
/* Reads every followed thread's CPU clock and calls due() for each thread
 * that used at least a period since its last sample. */
void thread_clocks_poll(thread_clocks *t, thread_clocks_due_fn due, void *ctx);

#endif
