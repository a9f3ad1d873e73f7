/* ring.h — a lock-free multi-producer, single-consumer byte ring for samples.
 *
 * The sampler's ticker thread is its one producer today, but
 * ring_reserve/ring_commit use only atomics on preallocated memory, so any
 * thread may produce, even from a signal handler. The one consumer (the writer, under its
 * lock) takes committed entries in order with ring_peek/ring_release. When
 * the ring is full a sample is dropped and counted, never waited for. */
#ifndef PYROMETER_RING_H
#define PYROMETER_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ring {
    uint8_t *data;
    size_t size;                 /* power of two */
    _Atomic uint64_t head;       /* bytes reserved so far */
    _Atomic uint64_t tail;       /* bytes consumed so far */
    _Atomic uint64_t dropped;    /* reservations refused because the ring was full */
} ring;

/* Allocates `size` bytes (rounded up to a power of two, at least 64 KiB).
 * 0, or -1 on ENOMEM. Not signal-safe: call before sampling starts. */
int ring_init(ring *r, size_t size);
void ring_free(ring *r);

/* Reserves len bytes for one entry; returns where to write them, or NULL
 * (and counts a drop) when full or len is larger than the ring allows.
 * Async-signal-safe. Every successful reserve must be followed by commit. */
void *ring_reserve(ring *r, size_t len);
/* Publishes an entry. `discard` marks it as one the consumer must skip
 * (a walk that faulted after reserving). Async-signal-safe. */
void ring_commit(ring *r, void *entry, int discard);

/* The oldest committed, not-discarded entry and its length, or NULL when
 * none is ready (empty, or the oldest is still being written). Consumer only. */
const void *ring_peek(ring *r, size_t *len);
/* Frees the entry ring_peek returned. Consumer only. */
void ring_release(ring *r);
/* Nonzero when nothing is reserved and unconsumed. */
int ring_is_empty(ring *r);

#endif
