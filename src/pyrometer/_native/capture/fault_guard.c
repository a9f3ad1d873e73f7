#include "capture/fault_guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

__thread fault_guard *volatile fault_guard_current __attribute__((tls_model("initial-exec")));
_Atomic unsigned long fault_guard_caught;

void fault_guard_arm(fault_guard *g)
{
    fault_guard_current = g;
}

static struct sigaction previous_segv, previous_bus;

static void forward(int sig, siginfo_t *info, void *context)
{
    const struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if (prev->sa_flags & SA_SIGINFO) {
        prev->sa_sigaction(sig, info, context);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* Default action: restore it and return; the faulting instruction
         * runs again and the process dies as it would have without us. */
        signal(sig, SIG_DFL);
    }
}

static void on_fault(int sig, siginfo_t *info, void *context)
{
    fault_guard *g = fault_guard_current;
    if (g != NULL) {
        fault_guard_current = NULL;
        atomic_fetch_add_explicit(&fault_guard_caught, 1, memory_order_relaxed);
        siglongjmp(g->env, 1);
    }
    forward(sig, info, context);
}

/* Installs on_fault for one signal unless it is already the handler, keeping
 * the handler it replaces to forward foreign faults to. */
static int install_one(int sig, struct sigaction *previous)
{
    struct sigaction current;
    if (sigaction(sig, NULL, &current) < 0)
        return -1;
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_fault)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    /* NODEFER: we leave the handler by siglongjmp, which (savemask=0) does
     * not restore the mask, so SIGSEGV must not stay blocked. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, previous);
}

int fault_guard_install(void)
{
    /* Called at every start: if the program installed its own handler
     * since (faulthandler.enable(), say), ours goes in front of it again. */
    if (install_one(SIGSEGV, &previous_segv) < 0 || install_one(SIGBUS, &previous_bus) < 0)
        return -1;
    return 0;
}
