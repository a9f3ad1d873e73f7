/* sampler.h — starts and stops statistical sampling of the running
 * interpreter into a vmprof-format file.
 *
 * A ticker thread wakes every period and reads stacks itself
 * (stack_sampler.h); the program's threads are never signalled or stopped.
 * CPU mode: it reads each thread's CPU clock (thread_clocks.h) and samples
 * the threads that used a period of CPU since their last sample. Wall
 * mode: it samples every Python thread, running, sleeping or blocked.
 * Blocked threads' sleeps and reads are never interrupted, and the
 * program's own signals, SIGPROF, SIGALRM and itimers stay its own.
 *
 * Samples go into a preallocated ring; a writer thread writes the file.
 * All functions here need the GIL. */
#ifndef PYROMETER_SAMPLER_H
#define PYROMETER_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum sampler_mode { SAMPLER_CPU = 0, SAMPLER_WALL = 1 } sampler_mode;

typedef struct sampler_options {
    int fd;                  /* where the profile goes; not closed by the sampler */
    int64_t period_us;       /* > 0 */
    sampler_mode mode;
    int lines;               /* record the line of every frame */
    int memory;              /* record RSS with every sample */
    size_t ring_bytes;       /* 0 for the default */
    uintptr_t stop_code;     /* a code object whose frame and callers are left out (0: none);
                                the caller keeps it alive while sampling */
} sampler_options;

typedef struct sampler_result {
    uint64_t samples;        /* samples recorded (each stands for `weight` periods) */
    uint64_t stack_reads;    /* stacks actually read */
    uint64_t dropped;        /* lost because the ring was full */
    uint64_t faults;         /* walks abandoned on a fault */
    double seconds;          /* CPU seconds (cpu mode) or wall seconds (wall mode) sampled */
    double delivered_hz;     /* samples per second (of CPU or wall time) actually recorded */
    int write_failed;        /* the file could not be written to the end */
} sampler_result;

/* Starts sampling. `meta` holds extra META records (already encoded) for
 * the file's prologue. 0, or -1 with a message in err (already running,
 * bad fd, the program owns SIGPROF/ITIMER_PROF, ...). */
int sampler_start(const sampler_options *opt, const buf *meta, char *err, size_t err_len);

/* Stops sampling, writes the remaining samples, META (rate, drops, thread
 * names) and the trailer. 0, or -1 with a message in err. */
int sampler_stop(sampler_result *result, char *err, size_t err_len);

/* Nonzero while sampling (in this process: a forked child is not sampling). */
int sampler_is_running(void);

/* Gives the calling thread its CPU timer now (a Python thread starting),
 * rather than at the writer's next scan. */
void sampler_watch_current_thread(void);

/* Remembers a thread's name for the profile's META. */
void sampler_note_thread_name(uint64_t thread_id, const char *name);

/* Pause/resume recording without tearing down (vmprof's stop_sampling / start_sampling). */
void sampler_pause(void);
void sampler_resume(void);

#endif
