#include "common/hashidx.h"

#include <stdlib.h>
#include <string.h>

void hashidx_init(hashidx *h)
{
    memset(h, 0, sizeof(*h));
}

void hashidx_free(hashidx *h)
{
    free(h->hashes);
    free(h->slots);
    hashidx_init(h);
}

uint32_t hashidx_find(const hashidx *h, uint64_t hash, hashidx_eq eq, const void *ctx)
{
    if (h->cap == 0)
        return UINT32_MAX;
    size_t mask = h->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = h->slots[i];
        if (slot == 0)
            return UINT32_MAX;
        if (h->hashes[i] == hash && eq(ctx, slot - 1))
            return slot - 1;
    }
}

static void place(uint64_t *hashes, uint32_t *slots, size_t mask, uint64_t hash, uint32_t slot)
{
    size_t i = (size_t)hash & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    hashes[i] = hash;
    slots[i] = slot;
}

static int grow(hashidx *h)
{
    size_t cap = h->cap ? h->cap * 2 : 64;
    uint64_t *hashes = calloc(cap, sizeof(*hashes));
    uint32_t *slots = calloc(cap, sizeof(*slots));
    if (hashes == NULL || slots == NULL) {
        free(hashes);
        free(slots);
        return -1;
    }
    for (size_t i = 0; i < h->cap; i++) {
        if (h->slots[i])
            place(hashes, slots, cap - 1, h->hashes[i], h->slots[i]);
    }
    free(h->hashes);
    free(h->slots);
    h->hashes = hashes;
    h->slots = slots;
    h->cap = cap;
    return 0;
}

int hashidx_insert(hashidx *h, uint64_t hash, uint32_t index)
{
    /* Keep the load under 1/2 so probe runs stay short. */
    if ((h->count + 1) * 2 > h->cap && grow(h) < 0)
        return -1;
    place(h->hashes, h->slots, h->cap - 1, hash, index + 1);
    h->count++;
    return 0;
}

uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

uint64_t hash_mix(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb3f99fb4e6b5ULL;
    x ^= x >> 33;
    return x;
}
