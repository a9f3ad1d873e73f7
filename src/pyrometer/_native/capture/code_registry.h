/* code_registry.h — gives every code object seen in a sample a stable id
 * in the profile, and keeps ids right when code objects die.
 *
 * A sample holds a code object's address. When that object is freed its
 * memory can be reused by another code object, so an address alone would
 * name the wrong function. The registry therefore wraps the code type's
 * dealloc: before a code object dies, pending samples are resolved (while
 * its name can still be read) and its address is forgotten, so a new code
 * object at that address gets a new id.
 *
 * The lock orders everything: resolution (writer thread, no GIL) and the
 * dealloc hook (any thread, with the GIL) both run under it. The sampling
 * thread never takes it: it reads running threads' frames, so a code
 * object can die between reading its address and putting the sample in
 * the ring, where the hook's drain would not see it. Each of its walks is
 * fenced instead (code_death_fence, walk_fence.h): the hook announces the
 * death before it drains. */
#ifndef PYROMETER_CODE_REGISTRY_H
#define PYROMETER_CODE_REGISTRY_H

#include <pthread.h>
#include <stdint.h>

#include "capture/walk_fence.h"
#include "common/buf.h"

/* The fence between the sampler's stack walks and code objects dying. */
extern walk_fence code_death_fence;

/* Called under the lock just before a code object dies (to drain samples). */
typedef void (*registry_flush_fn)(void *ctx);

typedef struct code_registry {
    pthread_mutex_t lock;
    uintptr_t *keys;        /* code addresses; 0 empty, 1 tombstone */
    uint32_t *ids;
    uint32_t cap, used, live;
    uint32_t next_id;
    registry_flush_fn flush;
    void *flush_ctx;
} code_registry;

/* Reserved ids for marker frames, written at start. */
enum { REGISTRY_ID_TRUNCATED = 1, REGISTRY_ID_NOT_PYTHON = 2, REGISTRY_FIRST_CODE_ID = 3 };

/* The file address vmprof records use for an id: even, as Python code. */
static inline uint64_t registry_address(uint32_t id)
{
    return (uint64_t)id << 1;
}

/* Sets up an empty registry and hooks the code type's dealloc (once per
 * process). `flush` is called under the lock before a code object dies.
 * 0, or -1 on ENOMEM. Needs the GIL. */
int code_registry_start(code_registry *r, registry_flush_fn flush, void *ctx);
/* Stops reacting to deallocs and frees the table. Needs the GIL. */
void code_registry_stop(code_registry *r);

/* The id of a live code object, assigning one (and appending its VIRTUAL_IP
 * record to `out`) if new. Must hold r->lock. Returns 0 when the address
 * does not hold a code object any more (a torn sample). */
uint32_t code_registry_resolve(code_registry *r, uintptr_t code, buf *out);

/* After fork, in the child: the lock may have been held by a thread that
 * does not exist there. Makes the registry inert and its lock usable. */
void code_registry_forget_after_fork(code_registry *r);

#endif
