#include "capture/ring.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Every entry starts with this header; lengths include it and are multiples of 8. */
typedef struct entry_header {
    _Atomic uint32_t state;
    uint32_t len;
} entry_header;

enum { ENTRY_COMMITTED = 1, ENTRY_SKIP = 2 };

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

int ring_init(ring *r, size_t size)
{
    size_t real = 1 << 16;
    while (real < size)
        real <<= 1;
    /* mmap'd, so the pages are zero and not taken from the program's heap. */
    void *data = mmap(NULL, real, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED)
        return -1;
    r->data = data;
    r->size = real;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
    return 0;
}

void ring_free(ring *r)
{
    if (r->data != NULL)
        munmap(r->data, r->size);
    r->data = NULL;
}

void *ring_reserve(ring *r, size_t len)
{
    size_t n = ALIGN8(len + sizeof(entry_header));
    if (n > r->size / 4) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        return NULL;
    }
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t pos, need;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        pos = (size_t)(head & (r->size - 1));
        size_t to_end = r->size - pos;
        /* An entry never wraps: if it does not fit before the end, the rest
         * of the ring becomes a skip entry and it starts at offset 0. */
        need = n <= to_end ? n : to_end + n;
        if (head + need - tail > r->size) {
            atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
            return NULL;
        }
        if (atomic_compare_exchange_weak_explicit(&r->head, &head, head + need, memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }
    if (need != n) {
        entry_header *pad = (entry_header *)(r->data + pos);
        pad->len = (uint32_t)(r->size - pos);
        atomic_store_explicit(&pad->state, ENTRY_COMMITTED | ENTRY_SKIP, memory_order_release);
        pos = 0;
    }
    entry_header *h = (entry_header *)(r->data + pos);
    h->len = (uint32_t)n;
    return h + 1;
}

void ring_commit(ring *r, void *entry, int discard)
{
    (void)r;
    entry_header *h = (entry_header *)entry - 1;
    atomic_store_explicit(&h->state, ENTRY_COMMITTED | (discard ? ENTRY_SKIP : 0), memory_order_release);
}

const void *ring_peek(ring *r, size_t *len)
{
    for (;;) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == head)
            return NULL;
        entry_header *h = (entry_header *)(r->data + (tail & (r->size - 1)));
        uint32_t state = atomic_load_explicit(&h->state, memory_order_acquire);
        if (!(state & ENTRY_COMMITTED))
            return NULL;
        if (state & ENTRY_SKIP) {
            ring_release(r);
            continue;
        }
        *len = h->len - sizeof(entry_header);
        return h + 1;
    }
}

void ring_release(ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    entry_header *h = (entry_header *)(r->data + (tail & (r->size - 1)));
    uint32_t len = h->len;
    /* Zero what was consumed, so a header reserved here later reads as
     * "not committed" until its producer commits it. */
    memset(h, 0, len);
    atomic_store_explicit(&r->tail, tail + len, memory_order_release);
}

int ring_is_empty(ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) ==
           atomic_load_explicit(&r->head, memory_order_acquire);
}
