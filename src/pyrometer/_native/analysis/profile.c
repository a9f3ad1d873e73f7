#include "analysis/profile.h"

#include <stdlib.h>
#include <string.h>

/* Grows a dense array to hold one more item. 0, or -1 on ENOMEM. */
static int grow_array(void **items, size_t item_size, size_t count, size_t *cap)
{
    if (count < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, new_cap * item_size);
    if (grown == NULL)
        return -1;
    *items = grown;
    *cap = new_cap;
    return 0;
}

#define GROW(arr, count, cap)                                                   \
    ({                                                                          \
        size_t cap_ = (cap);                                                    \
        int rc_ = grow_array((void **)&(arr), sizeof(*(arr)), (count), &cap_);  \
        (cap) = cap_;                                                           \
        rc_;                                                                    \
    })

int profile_init(profile *p)
{
    memset(p, 0, sizeof(*p));
    p->value_unit = "samples";
    strcpy(p->interpreter, "cpython");
    return profile_intern_string(p, "", 0) == 0 ? 0 : -1;
}

void profile_free(profile *p)
{
    for (uint32_t i = 0; i < p->string_count; i++)
        free(p->strings[i]);
    free(p->strings);
    free(p->string_lengths);
    hashidx_free(&p->string_index);
    free(p->functions);
    hashidx_free(&p->function_index);
    free(p->nodes);
    hashidx_free(&p->node_index);
    free(p->samples);
    free(p->threads);
    hashidx_free(&p->thread_index);
    free(p->meta);
    hashidx_free(&p->meta_index);
    free(p->timeline);
    memset(p, 0, sizeof(*p));
}

struct string_key {
    const profile *p;
    const char *s;
    size_t len;
};

static int string_eq(const void *ctx, uint32_t index)
{
    const struct string_key *k = ctx;
    return k->p->string_lengths[index] == k->len && memcmp(k->p->strings[index], k->s, k->len) == 0;
}

uint32_t profile_intern_string(profile *p, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return PROF_NONE;
    struct string_key key = {p, s, len};
    uint64_t hash = hash_bytes(s, len);
    uint32_t found = hashidx_find(&p->string_index, hash, string_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (p->string_count >= PROF_NONE - 1)
        return PROF_NONE;
    uint32_t old_cap = p->string_cap;
    if (GROW(p->strings, p->string_count, p->string_cap) < 0)
        return PROF_NONE;
    if (p->string_cap != old_cap) {
        /* The lengths array grows in step with strings (same cap). */
        uint32_t *lengths = realloc(p->string_lengths, p->string_cap * sizeof(*lengths));
        if (lengths == NULL) {
            p->string_cap = old_cap;
            return PROF_NONE;
        }
        p->string_lengths = lengths;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return PROF_NONE;
    memcpy(copy, s, len);
    copy[len] = '\0';
    uint32_t id = p->string_count;
    if (hashidx_insert(&p->string_index, hash, id) < 0) {
        free(copy);
        return PROF_NONE;
    }
    p->strings[id] = copy;
    p->string_lengths[id] = (uint32_t)len;
    p->string_count++;
    return id;
}

uint32_t profile_intern_cstring(profile *p, const char *s)
{
    return profile_intern_string(p, s, strlen(s));
}

struct function_key {
    const profile *p;
    prof_function f;
};

static int function_eq(const void *ctx, uint32_t index)
{
    const struct function_key *k = ctx;
    const prof_function *f = &k->p->functions[index];
    return f->name == k->f.name && f->file == k->f.file && f->first_line == k->f.first_line &&
           f->kind == k->f.kind;
}

uint32_t profile_intern_function(profile *p, uint32_t name, uint32_t file, int32_t first_line,
                                 prof_frame_kind kind)
{
    struct function_key key = {p, {name, file, first_line, (uint8_t)kind}};
    uint64_t hash = hash_mix(hash_mix(name, file), ((uint64_t)(uint32_t)first_line << 8) | kind);
    uint32_t found = hashidx_find(&p->function_index, hash, function_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (p->function_count >= PROF_NONE - 1 || GROW(p->functions, p->function_count, p->function_cap) < 0)
        return PROF_NONE;
    uint32_t id = p->function_count;
    if (hashidx_insert(&p->function_index, hash, id) < 0)
        return PROF_NONE;
    p->functions[id] = key.f;
    p->function_count++;
    return id;
}

struct node_key {
    const profile *p;
    uint32_t parent, function;
    int32_t line;
};

static int node_eq(const void *ctx, uint32_t index)
{
    const struct node_key *k = ctx;
    const prof_stack_node *n = &k->p->nodes[index];
    return n->parent == k->parent && n->function == k->function && n->line == k->line;
}

uint32_t profile_intern_node(profile *p, uint32_t parent, uint32_t function, int32_t line)
{
    if (function >= p->function_count || (parent != PROF_NO_PARENT && parent >= p->node_count))
        return PROF_NONE;
    struct node_key key = {p, parent, function, line};
    uint64_t hash = hash_mix(hash_mix(parent, function), (uint32_t)line);
    uint32_t found = hashidx_find(&p->node_index, hash, node_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (p->node_count >= PROF_NONE - 1 || GROW(p->nodes, p->node_count, p->node_cap) < 0)
        return PROF_NONE;
    uint32_t id = p->node_count;
    if (hashidx_insert(&p->node_index, hash, id) < 0)
        return PROF_NONE;
    uint32_t depth = parent == PROF_NO_PARENT ? 1 : p->nodes[parent].depth + 1;
    p->nodes[id] = (prof_stack_node){parent, function, line, depth};
    p->node_count++;
    return id;
}

struct thread_key {
    const profile *p;
    uint64_t id;
};

static int thread_eq(const void *ctx, uint32_t index)
{
    const struct thread_key *k = ctx;
    return k->p->threads[index].id == k->id;
}

uint32_t profile_intern_thread(profile *p, uint64_t id)
{
    /* Hashed, not scanned: a hostile file can name millions of threads,
     * and a scan per sample made reading it quadratic. */
    struct thread_key key = {p, id};
    uint64_t hash = hash_mix(id, 0x74687264);
    uint32_t found = hashidx_find(&p->thread_index, hash, thread_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (p->thread_count >= PROF_NONE - 1 || GROW(p->threads, p->thread_count, p->thread_cap) < 0)
        return PROF_NONE;
    if (hashidx_insert(&p->thread_index, hash, p->thread_count) < 0)
        return PROF_NONE;
    p->threads[p->thread_count] = (prof_thread){id, 0};
    return p->thread_count++;
}

int profile_add_sample(profile *p, uint32_t stack, uint32_t thread, int64_t weight, int64_t rss_kb)
{
    if (stack >= p->node_count || thread >= p->thread_count)
        return -1;
    if (GROW(p->samples, p->sample_count, p->sample_cap) < 0)
        return -1;
    p->samples[p->sample_count++] = (prof_sample){stack, thread, weight, rss_kb};
    return 0;
}

struct meta_key {
    const profile *p;
    uint32_t key;
};

static int meta_eq(const void *ctx, uint32_t index)
{
    const struct meta_key *k = ctx;
    return k->p->meta[index].key == k->key;
}

int profile_set_meta(profile *p, const char *key, const char *value, size_t value_len)
{
    uint32_t k = profile_intern_cstring(p, key);
    uint32_t v = profile_intern_string(p, value, value_len);
    if (k == PROF_NONE || v == PROF_NONE)
        return -1;
    /* Hashed by key for the same reason as threads. */
    struct meta_key mk = {p, k};
    uint64_t hash = hash_mix(k, 0x6d657461);
    uint32_t found = hashidx_find(&p->meta_index, hash, meta_eq, &mk);
    if (found != UINT32_MAX) {
        p->meta[found].value = v;
        return 0;
    }
    if (GROW(p->meta, p->meta_count, p->meta_cap) < 0 || hashidx_insert(&p->meta_index, hash, p->meta_count) < 0)
        return -1;
    p->meta[p->meta_count++] = (prof_meta){k, v};
    return 0;
}

const char *profile_get_meta(const profile *p, const char *key)
{
    for (uint32_t i = 0; i < p->meta_count; i++) {
        if (strcmp(p->strings[p->meta[i].key], key) == 0)
            return p->strings[p->meta[i].value];
    }
    return NULL;
}

int64_t profile_total_weight(const profile *p)
{
    int64_t total = 0;
    for (size_t i = 0; i < p->sample_count; i++)
        total += p->samples[i].weight;
    return total;
}

int profile_add_timeline_point(profile *p, int64_t time_us, int64_t rss_bytes, int64_t heap_bytes)
{
    if (GROW(p->timeline, p->timeline_count, p->timeline_cap) < 0)
        return -1;
    p->timeline[p->timeline_count++] = (prof_timeline_point){time_us, rss_bytes, heap_bytes};
    return 0;
}
