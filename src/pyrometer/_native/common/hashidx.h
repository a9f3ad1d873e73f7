/* hashidx.h — an open-addressing hash from a 64-bit key hash to indices of
 * an array the caller owns. It is how every intern table here works: the
 * caller keeps its items in a plain array (so ids are array indices and
 * stay dense), and this table finds an existing item by hash + equality. */
#ifndef PYROMETER_HASHIDX_H
#define PYROMETER_HASHIDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct hashidx {
    uint64_t *hashes;
    uint32_t *slots;   /* item index + 1; 0 marks an empty slot */
    size_t cap;        /* power of two */
    size_t count;
} hashidx;

/* Returns nonzero when item `index` equals the key being looked up. */
typedef int (*hashidx_eq)(const void *ctx, uint32_t index);

void hashidx_init(hashidx *h);
void hashidx_free(hashidx *h);
/* Index of an item with this hash for which eq() holds, or UINT32_MAX. */
uint32_t hashidx_find(const hashidx *h, uint64_t hash, hashidx_eq eq, const void *ctx);
/* Records item `index` under `hash` (no duplicate check). 0, or -1 on ENOMEM. */
int hashidx_insert(hashidx *h, uint64_t hash, uint32_t index);

/* Hashes for keys: FNV-1a over bytes, and a mixer for integers. */
uint64_t hash_bytes(const void *data, size_t len);
uint64_t hash_mix(uint64_t a, uint64_t b);

#endif
