/* alloc_stack.h — the stack of the allocating thread as an interned node id.
 *
 * Python frames are read from the calling thread's own frame chain (it is
 * the only thread that changes it, so this is safe with or without the GIL);
 * with native unwinding on, libunwind's frames are merged in, each
 * _PyEval_EvalFrameDefault frame replaced by the Python frames it runs.
 *
 * Nodes and functions live in process-wide tables: lookups are lock-free,
 * only inserting a never-seen (parent, frame) pair takes a mutex. The writer
 * thread reads the tables up to their published counts and emits the new
 * entries. Every function here is called with the thread's reentrancy guard
 * set, so its own allocations are not tracked. */
#ifndef PYROMETER_ALLOC_STACK_H
#define PYROMETER_ALLOC_STACK_H

#include <stddef.h>
#include <stdint.h>

#define ALLOC_NO_NODE UINT32_MAX
#define ALLOC_MAX_FRAMES 256          /* Python + native frames kept per stack (root side is cut) */
#define ALLOC_NODE_TABLE_BITS 18      /* 256k slots; at most 3/4 of them used */
#define ALLOC_MAX_FUNCTIONS (1u << 16)

/* Per-thread cache of the last stack, so that the frames shared with the
 * previous allocation (usually all but the leaf) cost no lookups. */
typedef struct alloc_stack_cache {
    uint32_t depth;
    uintptr_t frame[ALLOC_MAX_FRAMES];   /* frame address (Python) or IP (native) */
    uintptr_t code[ALLOC_MAX_FRAMES];
    int32_t lasti[ALLOC_MAX_FRAMES];
    uint32_t node[ALLOC_MAX_FRAMES];
} alloc_stack_cache;

/* Sets up the tables (idempotent). 0, or -1 on ENOMEM. native: unwind C frames too. */
int alloc_stack_init(int native);
void alloc_stack_set_native(int native);
/* Python frames from this code object's frame up (the launcher's) are left
 * out of every stack; 0 keeps all frames. The caller keeps the code alive. */
void alloc_stack_set_stop_code(uintptr_t code);

/* The calling thread's current stack, or ALLOC_NO_NODE when it has no
 * Python frames (and no native ones in native mode). */
uint32_t alloc_stack_capture(alloc_stack_cache *cache);

/* What the writer reads. Counts are published after their entries. */
typedef struct alloc_node_info {
    uint32_t parent;     /* ALLOC_NO_NODE at the root */
    uint32_t function;
    int32_t line;
} alloc_node_info;

typedef struct alloc_function_info {
    char *name, *file;   /* UTF-8, NUL-terminated; NULL for native functions until symbolized */
    int32_t first_line;
    uint8_t kind;        /* prof_frame_kind */
    uintptr_t ip;        /* native functions: the instruction address */
} alloc_function_info;

uint32_t alloc_stack_node_count(void);
const alloc_node_info *alloc_stack_node(uint32_t id);
uint32_t alloc_stack_function_count(void);
const alloc_function_info *alloc_stack_function(uint32_t id);

/* fork support: the intern mutex, held across fork() so the child never
 * inherits it locked mid-insert. */
void alloc_stack_lock(void);
void alloc_stack_unlock(void);
void alloc_stack_reinit_lock(void);

#endif
