/* alloc_tracker.h — the allocation tracker: per-thread event rings, the
 * background writer thread that streams the capture file, RSS sampling and
 * fork handling. The hooks (alloc_hooks.c) feed it through
 * alloc_tracker_record; the binding starts and stops it.
 *
 * Per allocation the cost is: the stack lookup (alloc_stack.c), one atomic
 * increment of the global sequence number, and a store into the calling
 * thread's own ring. No lock is taken on that path; the writer drains the
 * rings every rss interval (10 ms by default) or sooner when one fills up. */
#ifndef PYROMETER_ALLOC_TRACKER_H
#define PYROMETER_ALLOC_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct alloc_options {
    const char *path;
    int native, trace_python_allocators, follow_fork, aggregate;
    uint64_t rss_interval_us;
    const char *command_line, *python_version;
    const char *fork_base;   /* follow_fork: children write <fork_base>.<pid>; NULL: path */
} alloc_options;

/* 1 while a tracker records in this process. */
extern volatile int alloc_tracker_on;

/* Starts tracking into opt->path. Caller holds the GIL. 0, or -1 with a
 * one-line message in err (already tracking, cannot open the file, ...). */
int alloc_tracker_start(const alloc_options *opt, char *err, size_t errlen);

/* Stops tracking, drains every ring, writes the trailer and closes the
 * file. Caller holds the GIL. 0, or -1 with a message when a write failed
 * during the run (recording stopped then; the file holds what was written
 * before). A no-op returning 0 in a forked child that does not own the
 * tracker. */
int alloc_tracker_stop(char *err, size_t errlen);

/* Records one event of the calling thread. Called by the hooks with the
 * thread's reentrancy guard set; never fails (an event that cannot be
 * recorded is counted as dropped). Frees and unmaps must be recorded before
 * the memory is released, allocations after they succeed, so that an
 * address reused by another thread is always freed before it is
 * re-allocated in sequence order. */
void alloc_tracker_record(int kind, uintptr_t addr, uint64_t size);

/* The process is about to _exit(): finish the file (no hook restore). */
void alloc_tracker_process_exit(void);

#endif
