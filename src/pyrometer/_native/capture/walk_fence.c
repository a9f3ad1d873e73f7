#include "capture/walk_fence.h"

#include <sched.h>

void walk_fence_begin(walk_fence *f)
{
    atomic_store(&f->walking, 1);
}

void walk_fence_end(walk_fence *f)
{
    atomic_store(&f->walking, 0);
}

void walk_fence_announce_death(walk_fence *f)
{
    /* The caller dropped the count to 0 before this load (the load is
     * sequentially consistent, and so is the walker's store of `walking`):
     * a walk we do not see here starts late enough to see that count. */
    while (atomic_load(&f->walking))
        sched_yield();
}

void walk_fence_reset(walk_fence *f)
{
    atomic_store(&f->walking, 0);
}
