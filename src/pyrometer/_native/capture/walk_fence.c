#include "capture/walk_fence.h"

#include <sched.h>

walk_epoch walk_fence_begin(walk_fence *f)
{
    atomic_store(&f->walking, 1);
    walk_epoch e;
    /* deaths before dying: an announcer raises dying first, so a death
     * whose increment of `deaths` this load missed is either seen in
     * `dying` here or in `deaths` by walk_fence_still_valid. */
    e.deaths = atomic_load(&f->deaths);
    e.death_under_way = atomic_load(&f->dying) > 0;
    return e;
}

int walk_fence_still_valid(walk_fence *f, walk_epoch epoch)
{
    return !epoch.death_under_way && atomic_load(&f->deaths) == epoch.deaths;
}

void walk_fence_end(walk_fence *f)
{
    atomic_store(&f->walking, 0);
}

void walk_fence_announce_death(walk_fence *f)
{
    atomic_fetch_add(&f->dying, 1);
    atomic_fetch_add(&f->deaths, 1);
    /* A walk in progress may have begun before the increments and read
     * the dying object's address: it either sees the new count in
     * walk_fence_still_valid, or publishes before it ends. Wait for the end. */
    while (atomic_load(&f->walking))
        sched_yield();
}

void walk_fence_death_done(walk_fence *f)
{
    atomic_fetch_sub(&f->dying, 1);
}

void walk_fence_reset(walk_fence *f)
{
    atomic_store(&f->walking, 0);
    atomic_store(&f->dying, 0);
}
