/* walk_fence.h — lets one thread read pointers to objects that other
 * threads may free, and publish what it read before any of them is freed.
 *
 * The sampler reads code-object addresses out of running threads' frames.
 * A code object can die between that read and the sample reaching the
 * ring, where the code registry's dealloc hook (which names pending
 * samples before a code object dies) would not find it, and its address
 * could then name whatever is allocated there next. So:
 *  - the walker brackets each walk with walk_fence_begin/walk_fence_end,
 *    and publishes its result before calling end;
 *  - a thread about to free an object calls walk_fence_announce_death(),
 *    which returns once no walk is in progress. The code registry's hook
 *    then drains the ring, naming what the walk published while the
 *    object is still there.
 * A walk that begins after the announcement must not take the dying
 * object at all: a code object's reference count is already 0 then, and
 * the frame reader rejects such a code object (python_frames_311.c). That
 * check is needed: the frame whose code is dying is still the thread's
 * current frame, since CPython 3.11 clears a returning frame before it
 * pops it. The two sides store,
 * then load the other's variable, with sequentially consistent atomics (a
 * Dekker-style handshake), so they cannot both miss each other. One walker
 * at a time; any number of announcers. Lock-free on the walker's side. */
#ifndef PYROMETER_WALK_FENCE_H
#define PYROMETER_WALK_FENCE_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct walk_fence {
    _Atomic int walking;       /* the walker is between begin and end */
} walk_fence;

/* Starts a walk. */
void walk_fence_begin(walk_fence *f);

/* Ends the walk (after publishing, or deciding not to). */
void walk_fence_end(walk_fence *f);

/* Announces that an object is about to be freed (its count is already 0);
 * returns when no walk is in progress. Yields while it waits (a walk takes
 * microseconds, unless the walker is descheduled). */
void walk_fence_announce_death(walk_fence *f);

/* After fork, in the child: the walker thread does not exist there, so a
 * walk it was in would never end. */
void walk_fence_reset(walk_fence *f);

#endif
