/* signal_sampler.h — everything that runs inside the sampling signal
 * handler, gathered in one file so every call in it can be checked for
 * async-signal safety: atomics, reads of preallocated memory, the fault
 * guard, raw syscalls (pread, gettid). No malloc, no locks, no Python API
 * beyond the pure reads of python_frames.h. */
#ifndef PYROMETER_SIGNAL_SAMPLER_H
#define PYROMETER_SIGNAL_SAMPLER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "capture/python_frames.h"
#include "capture/ring.h"

/* The signal that asks the GIL holder to sample every thread (wall mode).
 * A real-time signal, so the program's own SIGALRM/SIGPROF stay its own. */
#define WALL_SIGNAL (SIGRTMIN + 5)
/* The signal the ticker sends a thread that used a period of CPU (CPU mode). */
#define CPU_SIGNAL (SIGRTMIN + 4)

/* Wall requests: the wall thread sets REQUESTED and signals the GIL
 * holder; its handler claims the request (SERVING), samples every thread
 * and sets IDLE again. The wall thread does not wait for it. */
enum { WALL_IDLE = 0, WALL_REQUESTED, WALL_SERVING };

typedef struct signal_sampler {
    _Atomic int active;             /* handlers do nothing when 0 */
    _Atomic int handlers_running;   /* so stop can wait for them to leave */
    _Atomic int wall_request;
    ring *ring;
    int statm_fd;                   /* /proc/self/statm, or -1 without memory mode */
    long page_kb;
    PyInterpreterState *interp;
    uintptr_t stop_code;            /* the launcher's code: frames from it rootward are not the program's */
    PyThreadState *launcher;        /* the thread running the launcher (it called start) */
    _Atomic uint64_t samples;       /* samples committed, counting weights */
    _Atomic uint64_t stack_reads;   /* stacks read */
    _Atomic uint64_t wall_ticks;    /* wall ticks covered (served, or carried by a served sample's weight) */
    _Atomic int wall_missed;        /* ticks that passed unserved since the last served one */
    _Atomic uint64_t faults;        /* walks abandoned on a fault */
} signal_sampler;

extern signal_sampler the_signal_sampler;

/* The handler for CPU_SIGNAL (CPU mode) and WALL_SIGNAL (wall mode). */
void signal_sampler_handler(int sig, siginfo_t *info, void *context);

/* Samples every thread of the interpreter into the ring, under a fault
 * guard. Used by the GIL holder's handler (consistent: nobody else can
 * change frames) and by the wall thread when nobody holds the GIL.
 * Returns the number of samples committed. */
int signal_sampler_sample_all(signal_sampler *s, int64_t rss_kb, int weight);

/* The weight of the wall sample being taken now: this tick plus the ticks
 * missed since the last one (the target was descheduled, the machine busy). */
int signal_sampler_take_wall_weight(signal_sampler *s);

/* Current RSS in kB from /proc/self/statm, or -1. Async-signal-safe. */
int64_t signal_sampler_rss_kb(const signal_sampler *s);

#endif
