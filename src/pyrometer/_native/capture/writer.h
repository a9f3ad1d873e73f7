/* writer.h — the background thread that turns ring samples into vmprof
 * records and writes them to the profile's file descriptor.
 *
 * The sampler only fills the ring; this thread (not a Python thread,
 * never holding the GIL) drains it every WRITER_FLUSH_MS, resolving code
 * objects to ids through the code registry, so a killed process loses at
 * most that much. A write error (disk full, file size limit) stops the
 * writing, with one warning; what was written before stays valid. */
#ifndef PYROMETER_WRITER_H
#define PYROMETER_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "capture/code_registry.h"
#include "capture/ring.h"
#include "common/buf.h"

#define WRITER_FLUSH_MS 50

typedef struct writer {
    int fd;
    int lines;                 /* write [line, code] pairs */
    int memory;                /* write RSS per sample */
    ring *ring;
    code_registry registry;
    buf pending;               /* records not yet written; under registry.lock */
    buf spare;                 /* the writer thread's other buffer, swapped with pending */
    uint64_t *entries;         /* one stack's entries, reused; under registry.lock */
    pthread_t thread;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    int stopping;              /* under wake_lock */
    int started;
    _Atomic int failed;        /* a write failed: stop writing */
    int write_errno;
    void (*on_tick)(void *ctx);  /* called on the writer thread at start and every flush */
    void *tick_ctx;
    uint64_t samples_written;  /* under registry.lock */
    uint64_t bytes_written;
} writer;

/* Starts the thread; `prologue` (header, start time, META) is written
 * first. on_tick (may be NULL) runs on the writer thread when it starts
 * and after every flush. 0, or -1 with errno. Needs the GIL (installs the dealloc hook). */
int writer_start(writer *w, int fd, ring *r, int lines, int memory, const buf *prologue, void (*on_tick)(void *),
                 void *tick_ctx);

/* Drains what is left, appends `epilogue` (META + trailer), writes it all
 * and joins the thread. Call after no producer can touch the ring. Needs
 * the GIL. Returns 0, or -1 when some write failed (errno in write_errno). */
int writer_finish(writer *w, const buf *epilogue);

/* After fork in the child: the thread is gone; make the writer inert. */
void writer_forget_after_fork(writer *w);

#endif
