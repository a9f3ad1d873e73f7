/* Unit tests for the walk fence (capture/walk_fence.h): a walker thread
 * reads "object addresses" that a killer thread keeps freeing and
 * reallocating, as the sampler reads code objects out of running frames.
 * As in CPython 3.11, a returning frame's code object dies while that frame
 * is still the current one (the frame is cleared, then popped).
 * The property: whatever the walker publishes was alive when published.
 * A killer that did not wait for the walk in progress, or a walker that did
 * not notice a death already under way as it began, publishes a freed
 * object here within a few thousand rounds. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "capture/walk_fence.h"

#define OBJECTS 8
#define ROUNDS 200000

static walk_fence fence;
static _Atomic int alive[OBJECTS];
static _Atomic int current;       /* the object the running "frame" holds */
static _Atomic int stop;
static _Atomic long published, published_dead, dropped;

/* A few hundred cycles, varied: the windows between read, check and
 * publish are what the killer races against. */
static void dawdle(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    for (volatile unsigned i = (*seed >> 16) % 400; i > 0; i--) {
    }
}

static void *walker(void *arg)
{
    (void)arg;
    unsigned seed = 1;
    for (int round = 0; round < ROUNDS; round++) {
        walk_epoch epoch = walk_fence_begin(&fence);
        int object = atomic_load(&current);
        dawdle(&seed);
        if (walk_fence_still_valid(&fence, epoch)) {
            dawdle(&seed); /* reserving and copying into the ring */
            if (!atomic_load(&alive[object]))
                atomic_fetch_add(&published_dead, 1);
            atomic_fetch_add(&published, 1);
        } else {
            atomic_fetch_add(&dropped, 1);
        }
        walk_fence_end(&fence);
    }
    atomic_store(&stop, 1);
    return NULL;
}

/* Clears the current frame, freeing its object, then pops it and runs the
 * next one, whose object reuses the memory of the one before. */
static void *killer(void *arg)
{
    (void)arg;
    unsigned seed = 7;
    int next = 1;
    while (!atomic_load(&stop)) {
        int old = atomic_load(&current);
        walk_fence_announce_death(&fence);
        atomic_store(&alive[old], 0);
        dawdle(&seed);
        walk_fence_death_done(&fence);
        atomic_store(&alive[next], 1);
        atomic_store(&current, next);
        next = old;
        dawdle(&seed);
    }
    return NULL;
}

TEST(published_objects_are_alive)
{
    atomic_store(&alive[0], 1);
    pthread_t w, k;
    CHECK(pthread_create(&w, NULL, walker, NULL) == 0);
    CHECK(pthread_create(&k, NULL, killer, NULL) == 0);
    pthread_join(w, NULL);
    pthread_join(k, NULL);
    CHECK_EQ_INT(atomic_load(&published_dead), 0);
    /* Both outcomes happen, so the race was really run. */
    CHECK(atomic_load(&published) > 0);
    CHECK(atomic_load(&dropped) > 0);
}

TEST(quiet_walks_are_valid)
{
    walk_fence f = {0};
    walk_epoch e = walk_fence_begin(&f);
    CHECK(walk_fence_still_valid(&f, e));
    walk_fence_end(&f);
    walk_fence_announce_death(&f); /* no walk in progress: returns at once */
    e = walk_fence_begin(&f);
    CHECK(!walk_fence_still_valid(&f, e)); /* a death is under way */
    walk_fence_end(&f);
    walk_fence_death_done(&f);
    e = walk_fence_begin(&f);
    CHECK(walk_fence_still_valid(&f, e));
    walk_fence_end(&f);
}

TEST(reset_forgets_walks_and_deaths_that_never_end)
{
    walk_fence f = {0};
    walk_fence_begin(&f);            /* a walker that is gone (fork) mid-walk */
    atomic_fetch_add(&f.dying, 1);   /* and a death another thread had under way */
    walk_fence_reset(&f);
    CHECK_EQ_INT(atomic_load(&f.walking), 0); /* announce_death would not wait */
    walk_epoch e = walk_fence_begin(&f);
    CHECK(walk_fence_still_valid(&f, e));
    walk_fence_end(&f);
}

int main(void)
{
    RUN(published_objects_are_alive);
    RUN(quiet_walks_are_valid);
    RUN(reset_forgets_walks_and_deaths_that_never_end);
    return CHECK_SUMMARY();
}
