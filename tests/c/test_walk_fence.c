/* Unit tests for the walk fence (capture/walk_fence.h): a walker thread
 * reads "object addresses" that a killer thread keeps freeing and
 * reallocating, as the sampler reads code objects out of running frames.
 * As in CPython 3.11: an object's count drops to 0, then its dealloc hook
 * announces the death and frees it, all while the frame that held it is
 * still the thread's current frame (it is popped after). The walker, like
 * the frame reader, rejects an object whose count is 0.
 * The property: whatever the walker publishes was not freed when published.
 * A killer that did not wait for the walk in progress, or a walker that
 * did not reject a count of 0, publishes a freed object here within a few
 * thousand rounds. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "capture/walk_fence.h"

#define OBJECTS 8
#define ROUNDS 200000

static walk_fence fence;
static _Atomic int referenced[OBJECTS]; /* the reference count is not 0 */
static _Atomic int freed[OBJECTS];
static _Atomic int current;             /* the object the current frame holds */
static _Atomic int stop;
static _Atomic long published, published_freed, dropped;

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
        walk_fence_begin(&fence);
        int object = atomic_load(&current);
        int usable = atomic_load(&referenced[object]);
        dawdle(&seed);
        if (usable) {
            dawdle(&seed); /* reserving and copying into the ring */
            if (atomic_load(&freed[object]))
                atomic_fetch_add(&published_freed, 1);
            atomic_fetch_add(&published, 1);
        } else {
            atomic_fetch_add(&dropped, 1);
        }
        walk_fence_end(&fence);
        /* Between walks, as the ticker sleeps between ticks: a killer
         * waiting in announce gets its turn (under valgrind, which runs one
         * thread at a time, it would otherwise starve). */
        dawdle(&seed);
        if (round % 64 == 0)
            sched_yield();
    }
    atomic_store(&stop, 1);
    return NULL;
}

/* Returns from the current frame: its object's count drops to 0, the
 * death is announced and the object freed, and only then is the frame
 * popped and the next one run, whose object reuses the memory of the one
 * before. */
static void *killer(void *arg)
{
    (void)arg;
    unsigned seed = 7;
    int next = 1;
    while (!atomic_load(&stop)) {
        int old = atomic_load(&current);
        atomic_store(&referenced[old], 0);
        walk_fence_announce_death(&fence);
        atomic_store(&freed[old], 1);
        dawdle(&seed);
        atomic_store(&freed[next], 0);
        atomic_store(&referenced[next], 1);
        atomic_store(&current, next);
        next = old;
        dawdle(&seed);
    }
    return NULL;
}

TEST(published_objects_are_alive)
{
    atomic_store(&referenced[0], 1);
    pthread_t w, k;
    CHECK(pthread_create(&w, NULL, walker, NULL) == 0);
    CHECK(pthread_create(&k, NULL, killer, NULL) == 0);
    pthread_join(w, NULL);
    pthread_join(k, NULL);
    CHECK_EQ_INT(atomic_load(&published_freed), 0);
    /* Both outcomes happen, so the race was really run. */
    CHECK(atomic_load(&published) > 0);
    CHECK(atomic_load(&dropped) > 0);
}

TEST(announce_waits_for_the_walk_in_progress)
{
    walk_fence f = {0};
    walk_fence_announce_death(&f); /* no walk in progress: returns at once */
    walk_fence_begin(&f);
    CHECK_EQ_INT(atomic_load(&f.walking), 1);
    walk_fence_end(&f);
    walk_fence_announce_death(&f);
    CHECK_EQ_INT(atomic_load(&f.walking), 0);
}

TEST(reset_forgets_a_walk_that_never_ends)
{
    walk_fence f = {0};
    walk_fence_begin(&f); /* a walker that is gone (fork) mid-walk */
    walk_fence_reset(&f);
    walk_fence_announce_death(&f); /* would wait forever without the reset */
    CHECK_EQ_INT(atomic_load(&f.walking), 0);
}

int main(void)
{
    RUN(published_objects_are_alive);
    RUN(announce_waits_for_the_walk_in_progress);
    RUN(reset_forgets_a_walk_that_never_ends);
    return CHECK_SUMMARY();
}
