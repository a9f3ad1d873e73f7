/* walk_fence.h — lets one thread read pointers to objects that other
 * threads may free, and publish what it read only if none died meanwhile.
 *
 * The sampler reads code-object addresses out of running threads' frames.
 * A code object can die between that read and the sample reaching the
 * ring, where the code registry's dealloc hook (which names pending
 * samples before a code object dies) would not find it, and its address
 * could then name whatever is allocated there next. So:
 *  - the walker brackets each walk with walk_fence_begin/walk_fence_end,
 *    and publishes its result only if walk_fence_still_valid() says no
 *    death was announced since begin, and before calling end;
 *  - a thread about to free an object calls walk_fence_announce_death(),
 *    which returns once no walk that may have missed the announcement is
 *    still in progress, and walk_fence_death_done() once it is freed.
 * Either the walker sees the announcement and drops its result, or its
 * result is published before the object is freed. A walk that begins
 * while a death is under way is dropped too: a torn read can still find
 * the dying object's address in a frame that was just popped. The two sides store,
 * then load the other's variable, with sequentially consistent atomics (a
 * Dekker-style handshake), so they cannot both miss each other. One walker
 * at a time; any number of announcers. Lock-free on the walker's side. */
#ifndef PYROMETER_WALK_FENCE_H
#define PYROMETER_WALK_FENCE_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct walk_fence {
    _Atomic uint64_t deaths;   /* deaths announced so far */
    _Atomic int dying;         /* deaths announced and not yet done */
    _Atomic int walking;       /* the walker is between begin and end */
} walk_fence;

/* What a walk remembers of the fence at its start. */
typedef struct walk_epoch {
    uint64_t deaths;
    int death_under_way;
} walk_epoch;

/* Starts a walk; returns the epoch to check with walk_fence_still_valid. */
walk_epoch walk_fence_begin(walk_fence *f);

/* Nonzero when no death was under way as the walk began and none was
 * announced since. */
int walk_fence_still_valid(walk_fence *f, walk_epoch epoch);

/* Ends the walk (after publishing, or deciding not to). */
void walk_fence_end(walk_fence *f);

/* Announces that an object is about to be freed; returns when the walker
 * is outside a walk that began before the announcement. Yields while it
 * waits (a walk takes microseconds, unless the walker is descheduled). */
void walk_fence_announce_death(walk_fence *f);

/* The announced object is freed: walks may publish again. */
void walk_fence_death_done(walk_fence *f);

/* After fork, in the child: the walker thread does not exist there, so a
 * walk it was in would never end; nor would a death under way in another
 * thread. */
void walk_fence_reset(walk_fence *f);

#endif
