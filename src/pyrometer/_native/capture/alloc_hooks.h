/* alloc_hooks.h — how allocations reach the tracker.
 *
 * In-process GOT patching: every loaded ELF object's relocation slots for
 * malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, mmap, mmap64, munmap, dlopen
 * and _exit are pointed at our hooks, except in this module, the dynamic
 * loader and libc itself. The dlopen hook patches objects loaded later, so
 * extension modules imported after tracking started are covered. No
 * LD_PRELOAD and no re-exec are needed, which is what lets the Python API
 * start tracking in a running process.
 *
 * Optionally (--trace-python-allocators) the three PyMem domains are
 * wrapped with PyMem_SetAllocator as well; allocations pymalloc serves
 * from its arenas are then recorded, and the malloc/mmap calls they make
 * underneath are not (they run inside the hook's guard).
 *
 * Each hook holds a thread-local reentrancy guard while it records, so the
 * tracker's own allocations are never tracked. */
#ifndef PYROMETER_ALLOC_HOOKS_H
#define PYROMETER_ALLOC_HOOKS_H

#include <stddef.h>

/* Thread-local reentrancy guard: nonzero while this thread is inside the
 * tracker. The writer thread sets it for its whole life. */
extern __thread int alloc_guard __attribute__((tls_model("initial-exec")));

/* Patches every loaded object. Caller holds the GIL. 0, or -1 with a message. */
int alloc_hooks_install(char *err, size_t errlen);
/* Points every patched slot of still-loaded objects back at its old target. */
void alloc_hooks_uninstall(void);

/* Wraps (or restores) the PyMem RAW, MEM and OBJ allocators. Caller holds the GIL. */
void alloc_hooks_pymem_install(void);
void alloc_hooks_pymem_uninstall(void);

/* libc's own functions, for the tracker's private use. */
void *alloc_real_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int alloc_real_munmap(void *addr, size_t len);

#endif
