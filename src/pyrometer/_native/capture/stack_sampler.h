/* stack_sampler.h — reads Python threads' stacks into the sample ring from
 * the ticker thread, while those threads keep running.
 *
 * Nothing is interrupted: no signal, no pause, no lock the program could
 * hold. A signal per sample costs several µs on these VMs and, in wall mode,
 * can make a blocking call in C return EINTR; reading another thread's
 * frames from this thread costs a few loads per frame. The price is that
 * the memory may change while it is read:
 *  - every read runs under a fault guard (a frame chunk or generator freed
 *    under us faults harmlessly), and every walk is bounded;
 *  - a code object that dies during a walk could leave a dangling pointer
 *    in the sample, so each walk is fenced against code deaths
 *    (code_death_fence, walk_fence.h): a dying code object waits for the
 *    walk to put its sample in the ring before it is freed;
 *  - a stack read while its thread calls or returns can mix the two, like
 *    any sampler that does not stop the thread (py-spy's non-blocking mode).
 *    Each frame is still checked to hold a code object.
 *
 * Only the ticker thread calls these functions. */
#ifndef PYROMETER_STACK_SAMPLER_H
#define PYROMETER_STACK_SAMPLER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/python_frames.h"
#include "capture/ring.h"

typedef struct stack_sampler {
    _Atomic int active;             /* the ticker takes no samples when 0 (paused) */
    ring *ring;
    int statm_fd;                   /* /proc/self/statm, or -1 without memory mode */
    long page_kb;
    PyInterpreterState *interp;
    uintptr_t stop_code;            /* the launcher's code: frames from it rootward are not the program's */
    PyThreadState *launcher;        /* the thread running the launcher (it called start) */
    /* Statistics, written by the ticker only and read after it is joined. */
    uint64_t samples;               /* samples committed, counting weights */
    uint64_t stack_reads;           /* stacks read and committed */
    uint64_t wall_ticks;            /* wall ticks covered */
    uint64_t faults;                /* walks abandoned on a fault */
} stack_sampler;

/* Samples one thread (CPU mode) by its OS thread id, standing for `weight`
 * periods. A thread with no Python thread state (a C library's thread) gets
 * a "not Python" sample so its CPU time is still counted. */
void stack_sampler_sample_thread(stack_sampler *s, pid_t tid, int weight);

/* Samples every Python thread of the interpreter (wall mode). */
void stack_sampler_sample_all(stack_sampler *s, int weight);

/* Current RSS in kB from /proc/self/statm, or -1. */
int64_t stack_sampler_rss_kb(const stack_sampler *s);

#endif
