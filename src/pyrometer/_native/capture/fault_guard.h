/* fault_guard.h — reading memory that may vanish under us, without crashing.
 *
 * The sampler reads frames and code objects of threads that keep running
 * and may free them, or that a torn read points at. Instead of
 * vmprof's two sigaction calls per sample, one SIGSEGV/SIGBUS handler is
 * installed once; a thread arms its guard (a sigsetjmp point) around a
 * walk, and a fault inside the walk jumps back there. Faults outside an
 * armed guard go to whatever handler was installed before ours. */
#ifndef PYROMETER_FAULT_GUARD_H
#define PYROMETER_FAULT_GUARD_H

#include <setjmp.h>
#include <stdatomic.h>

typedef struct fault_guard {
    sigjmp_buf env;
} fault_guard;

/* The armed guard of this thread, or NULL. initial-exec TLS: reading it
 * never allocates, so it is safe in signal handlers. */
extern __thread fault_guard *volatile fault_guard_current __attribute__((tls_model("initial-exec")));

/* Faults caught since start (a statistic, reported in META). */
extern _Atomic unsigned long fault_guard_caught;

/* Puts the fault handler in front (idempotent). 0, or -1 with errno. */
int fault_guard_install(void);

/* Use as:  fault_guard g;
 *          if (FAULT_GUARD_ARM(&g)) { ...reads...; } else { ...a read faulted...; }
 *          fault_guard_disarm();
 * sigsetjmp must run in the frame that stays live during the reads, hence a macro. */
#define FAULT_GUARD_ARM(g) (sigsetjmp((g)->env, 0) == 0 ? (fault_guard_arm(g), 1) : 0)

/* Makes g this thread's armed guard (out of line: it deliberately stores
 * the address of the caller's local, which disarm clears). */
void fault_guard_arm(fault_guard *g);

static inline void fault_guard_disarm(void)
{
    fault_guard_current = 0;
}

#endif
