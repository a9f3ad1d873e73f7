/* memory.c — replays allocation events into peak, leaks, temporary
 * allocations, heap over time and per-location tables. See memory.h. */
#include "analysis/memory.h"

#include <stdlib.h>
#include <string.h>

#include "format/capture_write.h"


/* Sizes and counts come from the file: sums of garbage must not overflow,
 * so every accumulation here saturates at the int64 limits. */
static int64_t sat_add_i64(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static int64_t sat_sub_i64(int64_t a, int64_t b)
{
    return b == INT64_MIN ? sat_add_i64(sat_add_i64(a, INT64_MAX), 1) : sat_add_i64(a, -b);
}

static int64_t sat_add(int64_t a, uint64_t b)
{
    return sat_add_i64(a, b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)b);
}

/* ---- live heap blocks: open addressing by address, backward-shift delete ---- */

typedef struct live_block {
    uint64_t addr;       /* 0: empty slot (malloc never returns NULL for a tracked block) */
    uint64_t size;
    uint64_t tindex;     /* the allocating thread's allocation count at this block */
    uint32_t node, thread;
} live_block;

typedef struct blockmap {
    live_block *slots;
    size_t cap, count;   /* cap: power of two */
} blockmap;

static size_t addr_slot(uint64_t addr, size_t cap)
{
    uint64_t h = addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static int blockmap_grow(blockmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 4096;
    live_block *n = calloc(ncap, sizeof *n);
    if (n == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].addr == 0)
            continue;
        size_t j = addr_slot(m->slots[i].addr, ncap);
        while (n[j].addr != 0)
            j = (j + 1) & (ncap - 1);
        n[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = n;
    m->cap = ncap;
    return 0;
}

/* Inserts or replaces the block at b->addr; *replaced gets the old block
 * when there was one (a missed free). 0, or -1 on ENOMEM. */
static int blockmap_put(blockmap *m, const live_block *b, live_block *replaced, int *had)
{
    *had = 0;
    if ((m->count + 1) * 4 > m->cap * 3 && blockmap_grow(m) < 0)
        return -1;
    size_t j = addr_slot(b->addr, m->cap);
    while (m->slots[j].addr != 0 && m->slots[j].addr != b->addr)
        j = (j + 1) & (m->cap - 1);
    if (m->slots[j].addr == b->addr) {
        *replaced = m->slots[j];
        *had = 1;
    } else {
        m->count++;
    }
    m->slots[j] = *b;
    return 0;
}

/* Removes the block at addr into *out. 1 when found, 0 when not. */
static int blockmap_take(blockmap *m, uint64_t addr, live_block *out)
{
    if (m->cap == 0 || addr == 0)
        return 0;
    size_t j = addr_slot(addr, m->cap);
    while (m->slots[j].addr != addr) {
        if (m->slots[j].addr == 0)
            return 0;
        j = (j + 1) & (m->cap - 1);
    }
    *out = m->slots[j];
    m->count--;
    /* Backward-shift deletion keeps probe chains intact without tombstones. */
    size_t hole = j;
    for (size_t k = (j + 1) & (m->cap - 1); m->slots[k].addr != 0; k = (k + 1) & (m->cap - 1)) {
        size_t home = addr_slot(m->slots[k].addr, m->cap);
        if (((k - home) & (m->cap - 1)) >= ((k - hole) & (m->cap - 1))) {
            m->slots[hole] = m->slots[k];
            hole = k;
        }
    }
    m->slots[hole].addr = 0;
    return 1;
}

/* ---- mmap'ed ranges: sorted, non-overlapping ---- */

typedef struct range {
    uint64_t start, end;
    uint32_t node, thread;
} range;

typedef struct rangeset {
    range *items;
    size_t count, cap;
} rangeset;

/* Index of the first range with end > addr. */
static size_t rangeset_lower(const rangeset *s, uint64_t addr)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->items[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int rangeset_insert_at(rangeset *s, size_t i, range r)
{
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        range *n = realloc(s->items, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        s->items = n;
        s->cap = ncap;
    }
    memmove(&s->items[i + 1], &s->items[i], (s->count - i) * sizeof *s->items);
    s->items[i] = r;
    s->count++;
    return 0;
}

/* ---- (node, thread) -> bytes accumulator ---- */

typedef struct acc_entry {
    uint64_t key;        /* node << 32 | thread, +1 so 0 marks empty */
    int64_t value;
} acc_entry;

typedef struct acc {
    acc_entry *slots;
    size_t cap, count;
} acc;

static int acc_add(acc *a, uint32_t node, uint32_t thread, int64_t v)
{
    if ((a->count + 1) * 2 > a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 1024;
        acc_entry *n = calloc(ncap, sizeof *n);
        if (n == NULL)
            return -1;
        for (size_t i = 0; i < a->cap; i++) {
            if (a->slots[i].key == 0)
                continue;
            size_t j = addr_slot(a->slots[i].key, ncap);
            while (n[j].key != 0)
                j = (j + 1) & (ncap - 1);
            n[j] = a->slots[i];
        }
        free(a->slots);
        a->slots = n;
        a->cap = ncap;
    }
    uint64_t key = (((uint64_t)node << 32) | thread) + 1;
    size_t j = addr_slot(key, a->cap);
    while (a->slots[j].key != 0 && a->slots[j].key != key)
        j = (j + 1) & (a->cap - 1);
    if (a->slots[j].key == 0) {
        a->slots[j].key = key;
        a->count++;
    }
    a->slots[j].value = sat_add_i64(a->slots[j].value, (int64_t)(v));
    return 0;
}

static int acc_cmp(const void *x, const void *y)
{
    uint64_t a = ((const acc_entry *)x)->key, b = ((const acc_entry *)y)->key;
    return a < b ? -1 : a > b;
}

/* ---- replay ---- */

typedef struct replay {
    const capture_data *c;
    blockmap blocks;
    rangeset ranges;
    int64_t heap, live_count;
    uint64_t *thread_allocs;     /* per thread: allocations made so far */
    /* temporary allocations, when temp_threshold > 0 */
    uint32_t temp_threshold;
    acc temporary;
    int failed;
} replay;

static int replay_init(replay *r, const capture_data *c, uint32_t temp_threshold)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->temp_threshold = temp_threshold;
    r->thread_allocs = calloc(c->prof.thread_count + 1, sizeof *r->thread_allocs);
    return r->thread_allocs ? 0 : -1;
}

static void replay_free(replay *r)
{
    free(r->blocks.slots);
    free(r->ranges.items);
    free(r->thread_allocs);
    free(r->temporary.slots);
}

/* Removes [start, end) from the mapped ranges; returns the bytes removed. */
static int64_t unmap_range(replay *r, uint64_t start, uint64_t end)
{
    rangeset *s = &r->ranges;
    int64_t removed = 0;
    size_t i = rangeset_lower(s, start);
    while (i < s->count && s->items[i].start < end) {
        range *g = &s->items[i];
        uint64_t lo = g->start > start ? g->start : start;
        uint64_t hi = g->end < end ? g->end : end;
        removed = sat_add_i64(removed, (int64_t)((hi - lo)));
        if (g->start < lo && g->end > hi) {
            /* A hole in the middle: split in two. */
            range tail = *g;
            tail.start = hi;
            g->end = lo;
            if (rangeset_insert_at(s, i + 1, tail) < 0) {
                r->failed = 1;
                return removed;
            }
            r->live_count++;
            i += 2;
        } else if (g->start < lo) {
            g->end = lo;
            i++;
        } else if (g->end > hi) {
            g->start = hi;
            i++;
        } else {
            memmove(g, g + 1, (s->count - i - 1) * sizeof *g);
            s->count--;
            r->live_count--;
        }
    }
    return removed;
}

static void replay_event(replay *r, const capture_event *e)
{
    if (e->kind == CAPTURE_MMAP) {
        if (e->size == 0)
            return;
        r->heap = sat_sub_i64(r->heap, (int64_t)(unmap_range(r, e->addr, e->addr + e->size)));   /* MAP_FIXED over a mapping */
        size_t i = rangeset_lower(&r->ranges, e->addr);
        range g = {e->addr, e->addr + e->size, e->node, e->thread};
        if (rangeset_insert_at(&r->ranges, i, g) < 0) {
            r->failed = 1;
            return;
        }
        r->heap = sat_add_i64(r->heap, (int64_t)(e->size));
        r->live_count++;
        r->thread_allocs[e->thread]++;
    } else if (e->kind == CAPTURE_MUNMAP) {
        r->heap = sat_sub_i64(r->heap, (int64_t)(unmap_range(r, e->addr, e->addr + e->size)));
    } else if (capture_kind_is_alloc(e->kind)) {
        uint64_t n = ++r->thread_allocs[e->thread];
        live_block b = {e->addr, e->size, n, e->node, e->thread}, old;
        int had;
        if (e->addr == 0)
            return;
        if (blockmap_put(&r->blocks, &b, &old, &had) < 0) {
            r->failed = 1;
            return;
        }
        r->heap = sat_add_i64(r->heap, (int64_t)(e->size));
        if (had)
            r->heap = sat_sub_i64(r->heap, (int64_t)(old.size));   /* the free was not seen */
        else
            r->live_count++;
    } else if (capture_kind_is_free(e->kind)) {
        live_block b;
        if (!blockmap_take(&r->blocks, e->addr, &b))
            return;
        r->heap = sat_sub_i64(r->heap, (int64_t)(b.size));
        r->live_count--;
        if (r->temp_threshold > 0 && b.thread == e->thread &&
            r->thread_allocs[e->thread] - b.tindex < r->temp_threshold) {
            if (acc_add(&r->temporary, b.node, b.thread, (int64_t)b.size) < 0)
                r->failed = 1;
        }
    }
}

static int seq_cmp(const void *x, const void *y)
{
    uint64_t a = ((const capture_event *)x)->seq, b = ((const capture_event *)y)->seq;
    return a < b ? -1 : a > b;
}

/* Events of different threads reach the file nearly, not exactly, in
 * sequence order (a thread can be descheduled between taking its sequence
 * number and publishing the event). */
static void sort_events(capture_data *c)
{
    for (size_t i = 1; i < c->event_count; i++) {
        if (c->events[i].seq < c->events[i - 1].seq) {
            qsort(c->events, c->event_count, sizeof *c->events, seq_cmp);
            return;
        }
    }
}

/* The replay position (events replayed) at which the heap was highest, the
 * peak bytes, and timeline points into c->prof when want_timeline. */
static int find_peak(capture_data *c, size_t *peak_pos, int64_t *peak_bytes, int64_t *peak_time, int want_timeline,
                     prof_error *err)
{
    replay r;
    if (replay_init(&r, c, 0) < 0)
        return prof_error_nomem(err);
    size_t ri = 0;
    *peak_pos = 0;
    *peak_bytes = 0;
    int64_t last_rss_time = -1;
    size_t peak_rss_index = SIZE_MAX;
    for (size_t i = 0; i <= c->event_count; i++) {
        /* RSS points taken before event i's sequence number. */
        while (ri < c->rss_count && (i == c->event_count || c->rss[ri].seq <= c->events[i].seq)) {
            if (want_timeline && profile_add_timeline_point(&c->prof, c->rss[ri].time_us, c->rss[ri].rss_bytes,
                                                            r.heap) < 0) {
                replay_free(&r);
                return prof_error_nomem(err);
            }
            last_rss_time = c->rss[ri].time_us;
            ri++;
        }
        if (i == c->event_count)
            break;
        replay_event(&r, &c->events[i]);
        if (r.heap > *peak_bytes) {
            *peak_bytes = r.heap;
            *peak_pos = i + 1;
            peak_rss_index = ri;
        }
    }
    (void)last_rss_time;
    *peak_time = peak_rss_index < c->rss_count ? c->rss[peak_rss_index].time_us
                 : (peak_rss_index != SIZE_MAX && c->rss_count ? c->rss[c->rss_count - 1].time_us : -1);
    int failed = r.failed;
    replay_free(&r);
    return failed ? prof_error_nomem(err) : 0;
}

/* Replays the first `upto` events; r then holds the live blocks and ranges. */
static int replay_upto(replay *r, capture_data *c, size_t upto, uint32_t temp_threshold, prof_error *err)
{
    if (replay_init(r, c, temp_threshold) < 0)
        return prof_error_nomem(err);
    for (size_t i = 0; i < upto && !r->failed; i++)
        replay_event(r, &c->events[i]);
    if (r->failed) {
        replay_free(r);
        return prof_error_nomem(err);
    }
    return 0;
}

/* Adds every live block and range of r to a. */
static int collect_live(const replay *r, acc *a)
{
    for (size_t i = 0; i < r->blocks.cap; i++) {
        const live_block *b = &r->blocks.slots[i];
        if (b->addr != 0 && acc_add(a, b->node, b->thread, (int64_t)b->size) < 0)
            return -1;
    }
    for (size_t i = 0; i < r->ranges.count; i++) {
        const range *g = &r->ranges.items[i];
        if (acc_add(a, g->node, g->thread, (int64_t)(g->end - g->start)) < 0)
            return -1;
    }
    return 0;
}

/* The node for allocations made with no Python frame on the stack. */
static uint32_t no_stack_node(profile *p)
{
    uint32_t name = profile_intern_cstring(p, "<no Python stack>");
    uint32_t fn = name == PROF_NONE ? PROF_NONE : profile_intern_function(p, name, 0, 0, PROF_FRAME_MARKER);
    return fn == PROF_NONE ? PROF_NONE : profile_intern_node(p, PROF_NO_PARENT, fn, 0);
}

/* Adds a's entries to the profile as samples, in a stable order. */
static int add_samples(profile *p, acc *a, prof_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].key != 0 && a->slots[i].value != 0)
            a->slots[n++] = a->slots[i];
    if (n > 1)
        qsort(a->slots, n, sizeof *a->slots, acc_cmp);
    uint32_t none = PROF_NONE;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = a->slots[i].key - 1;
        uint32_t node = (uint32_t)(key >> 32), thread = (uint32_t)key;
        if (node == PROF_NONE) {
            if (none == PROF_NONE && (none = no_stack_node(p)) == PROF_NONE)
                return prof_error_nomem(err);
            node = none;
        }
        if (profile_add_sample(p, node, thread, a->slots[i].value, -1) < 0)
            return prof_error_nomem(err);
    }
    return 0;
}

static int aggregate_view(capture_data *c, memory_view view, prof_error *err)
{
    if (view == MEMORY_VIEW_TEMPORARY)
        return prof_error_set(err, -1, "an --aggregate capture has no temporary allocations (only peak and leaks)");
    acc a = {0};
    uint32_t thread = c->prof.thread_count ? 0 : profile_intern_thread(&c->prof, 0);
    for (size_t i = 0; i < c->aggregate_count; i++) {
        const capture_aggregate_row *row = &c->aggregate[i];
        uint64_t v = view == MEMORY_VIEW_PEAK ? row->peak_bytes : row->exit_bytes;
        if (acc_add(&a, row->node, thread, (int64_t)v) < 0) {
            free(a.slots);
            return prof_error_nomem(err);
        }
    }
    int rc = add_samples(&c->prof, &a, err);
    free(a.slots);
    for (size_t i = 0; rc == 0 && i < c->rss_count; i++)
        if (profile_add_timeline_point(&c->prof, c->rss[i].time_us, c->rss[i].rss_bytes, -1) < 0)
            rc = prof_error_nomem(err);
    return rc;
}

int memory_build_view(capture_data *c, memory_view view, uint32_t temporary_threshold, prof_error *err)
{
    if (c->flags & CAPTURE_FLAG_AGGREGATE)
        return aggregate_view(c, view, err);
    sort_events(c);
    size_t peak_pos;
    int64_t peak_bytes, peak_time;
    if (find_peak(c, &peak_pos, &peak_bytes, &peak_time, 1, err) < 0)
        return -1;
    replay r;
    size_t upto = view == MEMORY_VIEW_PEAK ? peak_pos : c->event_count;
    if (replay_upto(&r, c, upto, view == MEMORY_VIEW_TEMPORARY ? (temporary_threshold ? temporary_threshold : 1) : 0,
                    err) < 0)
        return -1;
    acc a = {0};
    int rc = 0;
    if (view == MEMORY_VIEW_TEMPORARY)
        rc = add_samples(&c->prof, &r.temporary, err);
    else if (collect_live(&r, &a) < 0)
        rc = prof_error_nomem(err);
    else
        rc = add_samples(&c->prof, &a, err);
    free(a.slots);
    replay_free(&r);
    return rc;
}

/* ---- report ---- */

typedef struct loc_table {
    memory_location *items;
    size_t count, cap;
    hashidx index;
} loc_table;

typedef struct loc_key {
    const loc_table *t;
    uint32_t function;
    int32_t line;
} loc_key;

static int loc_eq(const void *ctx, uint32_t index)
{
    const loc_key *k = ctx;
    return k->t->items[index].function == k->function && k->t->items[index].line == k->line;
}

static memory_location *loc_get(loc_table *t, uint32_t function, int32_t line)
{
    loc_key k = {t, function, line};
    uint64_t h = hash_mix(function, (uint64_t)(uint32_t)line);
    uint32_t i = hashidx_find(&t->index, h, loc_eq, &k);
    if (i != UINT32_MAX)
        return &t->items[i];
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        memory_location *n = realloc(t->items, ncap * sizeof *n);
        if (n == NULL)
            return NULL;
        t->items = n;
        t->cap = ncap;
    }
    if (hashidx_insert(&t->index, h, (uint32_t)t->count) < 0)
        return NULL;
    memory_location *m = &t->items[t->count++];
    memset(m, 0, sizeof *m);
    m->function = function;
    m->line = line;
    return m;
}

static int loc_cmp(const void *x, const void *y)
{
    const memory_location *a = x, *b = y;
    if (a->function != b->function)
        return a->function < b->function ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

static int histogram_bucket(uint64_t size)
{
    int b = 0;
    while (size) {
        b++;
        size >>= 1;
    }
    return b < MEMORY_HISTOGRAM_BUCKETS ? b : MEMORY_HISTOGRAM_BUCKETS - 1;
}

/* Leaf location of a node (or of the no-stack marker). */
static memory_location *leaf_loc(loc_table *t, profile *p, uint32_t node, uint32_t *none)
{
    if (node == PROF_NONE) {
        if (*none == PROF_NONE)
            *none = no_stack_node(p);
        node = *none;
        if (node == PROF_NONE)
            return NULL;
    }
    return loc_get(t, p->nodes[node].function, p->nodes[node].line);
}

/* Adds bytes to peak_total of every distinct location on node's stack. */

static int add_peak_total(loc_table *t, profile *p, uint32_t node, int64_t bytes, uint32_t *none)
{
    memory_location *seen[CAPTURE_MAX_DEPTH];
    int nseen = 0;
    if (node == PROF_NONE) {
        memory_location *m = leaf_loc(t, p, node, none);
        if (m == NULL)
            return -1;
        m->peak_total_bytes = sat_add(m->peak_total_bytes, (uint64_t)bytes);
        return 0;
    }
    for (uint32_t n = node; n != PROF_NO_PARENT && nseen < CAPTURE_MAX_DEPTH; n = p->nodes[n].parent) {
        memory_location *m = loc_get(t, p->nodes[n].function, p->nodes[n].line);
        if (m == NULL)
            return -1;
        int dup = 0;
        for (int k = 0; k < nseen && !dup; k++)
            dup = seen[k] == m;
        if (!dup) {
            m->peak_total_bytes = sat_add(m->peak_total_bytes, (uint64_t)bytes);
            seen[nseen++] = m;
        }
    }
    return 0;
}

static int report_from_live(memory_report *out, loc_table *t, profile *p, const acc *a, int at_peak,
                            uint32_t *none)
{
    for (size_t i = 0; i < a->cap; i++) {
        if (a->slots[i].key == 0)
            continue;
        uint32_t node = (uint32_t)((a->slots[i].key - 1) >> 32);
        memory_location *m = leaf_loc(t, p, node, none);
        if (m == NULL)
            return -1;
        if (at_peak) {
            m->peak_own_bytes = sat_add_i64(m->peak_own_bytes, (int64_t)(a->slots[i].value));
            if (add_peak_total(t, p, node, a->slots[i].value, none) < 0)
                return -1;
        } else {
            m->leaked_bytes = sat_add_i64(m->leaked_bytes, (int64_t)(a->slots[i].value));
        }
    }
    (void)out;
    return 0;
}

int memory_report_build(capture_data *c, memory_report *out, prof_error *err)
{
    memset(out, 0, sizeof *out);
    out->peak_time_us = -1;
    loc_table t = {0};
    hashidx_init(&t.index);
    profile *p = &c->prof;
    uint32_t none = PROF_NONE;
    int rc = -1;
    acc live = {0};
    replay r;
    int have_replay = 0;

    if (c->flags & CAPTURE_FLAG_AGGREGATE) {
        for (size_t i = 0; i < c->aggregate_count; i++) {
            const capture_aggregate_row *row = &c->aggregate[i];
            memory_location *m = leaf_loc(&t, p, row->node, &none);
            if (m == NULL)
                goto nomem;
            m->own_bytes = sat_add(m->own_bytes, row->total_bytes);
            m->own_count = sat_add(m->own_count, row->total_count);
            m->peak_own_bytes = sat_add(m->peak_own_bytes, row->peak_bytes);
            m->leaked_bytes = sat_add(m->leaked_bytes, row->exit_bytes);
            if (add_peak_total(&t, p, row->node, sat_add(0, row->peak_bytes), &none) < 0)
                goto nomem;
            out->total_bytes = sat_add(out->total_bytes, row->total_bytes);
            out->total_count = sat_add(out->total_count, row->total_count);
            out->peak_bytes = sat_add(out->peak_bytes, row->peak_bytes);
            out->peak_count = sat_add(out->peak_count, row->peak_count);
            out->leaked_bytes = sat_add(out->leaked_bytes, row->exit_bytes);
            out->leaked_count = sat_add(out->leaked_count, row->exit_count);
        }
        goto done;
    }

    sort_events(c);
    for (size_t i = 0; i < c->event_count; i++) {
        const capture_event *e = &c->events[i];
        if (capture_kind_is_alloc(e->kind)) {
            out->total_bytes = sat_add_i64(out->total_bytes, (int64_t)(e->size));
            out->total_count++;
            out->histogram[histogram_bucket(e->size)]++;
            memory_location *m = leaf_loc(&t, p, e->node, &none);
            if (m == NULL)
                goto nomem;
            m->own_bytes = sat_add_i64(m->own_bytes, (int64_t)(e->size));
            m->own_count++;
        } else {
            out->free_count++;
        }
        out->kind_count[e->kind]++;
        out->kind_bytes[e->kind] = sat_add_i64(out->kind_bytes[e->kind], (int64_t)(e->size));
    }
    size_t peak_pos;
    int64_t peak_bytes;
    if (find_peak(c, &peak_pos, &peak_bytes, &out->peak_time_us, 0, err) < 0)
        goto error;
    if (replay_upto(&r, c, peak_pos, 0, err) < 0)
        goto error;
    have_replay = 1;
    out->peak_bytes = r.heap;
    out->peak_count = r.live_count;
    if (collect_live(&r, &live) < 0 || report_from_live(out, &t, p, &live, 1, &none) < 0)
        goto nomem;
    for (size_t i = peak_pos; i < c->event_count && !r.failed; i++)
        replay_event(&r, &c->events[i]);
    if (r.failed)
        goto nomem;
    out->leaked_bytes = r.heap;
    out->leaked_count = r.live_count;
    free(live.slots);
    memset(&live, 0, sizeof live);
    if (collect_live(&r, &live) < 0 || report_from_live(out, &t, p, &live, 0, &none) < 0)
        goto nomem;
done:
    if (t.count > 1)
        qsort(t.items, t.count, sizeof *t.items, loc_cmp);
    out->locations = t.items;
    out->location_count = t.count;
    t.items = NULL;
    rc = 0;
    goto error;
nomem:
    prof_error_nomem(err);
error:
    if (have_replay)
        replay_free(&r);
    free(live.slots);
    free(t.items);
    hashidx_free(&t.index);
    return rc;
}

void memory_report_free(memory_report *r)
{
    free(r->locations);
    memset(r, 0, sizeof *r);
}

int memory_aggregate(capture_data *c, capture_aggregate_row **rows, size_t *count, prof_error *err)
{
    *rows = NULL;
    *count = 0;
    sort_events(c);
    /* Slots per node + 1 (index 0: no Python stack). */
    size_t n = (size_t)c->prof.node_count + 1;
    capture_aggregate_row *t = calloc(n, sizeof *t);
    if (t == NULL)
        return prof_error_nomem(err);
#define SLOT(node) ((node) == PROF_NONE ? 0 : (size_t)(node) + 1)
    for (size_t i = 0; i < c->event_count; i++) {
        const capture_event *e = &c->events[i];
        if (capture_kind_is_alloc(e->kind)) {
            t[SLOT(e->node)].total_bytes = sat_add_i64(t[SLOT(e->node)].total_bytes, (int64_t)(e->size));
            t[SLOT(e->node)].total_count++;
        }
    }
    size_t peak_pos;
    int64_t peak_bytes, peak_time;
    replay r;
    if (find_peak(c, &peak_pos, &peak_bytes, &peak_time, 0, err) < 0 || replay_upto(&r, c, peak_pos, 0, err) < 0) {
        free(t);
        return -1;
    }
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1) {
            for (size_t i = peak_pos; i < c->event_count; i++)
                replay_event(&r, &c->events[i]);
        }
        for (size_t i = 0; i < r.blocks.cap; i++) {
            const live_block *b = &r.blocks.slots[i];
            if (b->addr == 0)
                continue;
            capture_aggregate_row *row = &t[SLOT(b->node)];
            if (phase == 0) {
                row->peak_bytes = sat_add_i64(row->peak_bytes, (int64_t)(b->size));
                row->peak_count++;
            } else {
                row->exit_bytes = sat_add_i64(row->exit_bytes, (int64_t)(b->size));
                row->exit_count++;
            }
        }
        for (size_t i = 0; i < r.ranges.count; i++) {
            const range *g = &r.ranges.items[i];
            capture_aggregate_row *row = &t[SLOT(g->node)];
            if (phase == 0) {
                row->peak_bytes = sat_add_i64(row->peak_bytes, (int64_t)(g->end - g->start));
                row->peak_count++;
            } else {
                row->exit_bytes = sat_add_i64(row->exit_bytes, (int64_t)(g->end - g->start));
                row->exit_count++;
            }
        }
    }
#undef SLOT
    int failed = r.failed;
    replay_free(&r);
    if (failed) {
        free(t);
        return prof_error_nomem(err);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].total_count == 0 && t[i].peak_count == 0 && t[i].exit_count == 0)
            continue;
        t[k] = t[i];
        t[k].node = i == 0 ? UINT32_MAX : (uint32_t)(i - 1);
        k++;
    }
    *rows = t;
    *count = k;
    return 0;
}

int memory_write_aggregate_file(capture_data *c, const char *path, prof_error *err)
{
    capture_aggregate_row *rows;
    size_t n;
    if (memory_aggregate(c, &rows, &n, err) < 0)
        return -1;
    const profile *p = &c->prof;
    const char *keys[CAPTURE_MAX_HEADER_PAIRS], *values[CAPTURE_MAX_HEADER_PAIRS];
    size_t pairs = 0;
    for (uint32_t i = 0; i < p->meta_count && pairs < CAPTURE_MAX_HEADER_PAIRS; i++) {
        const char *k = profile_string(p, p->meta[i].key);
        if (strcmp(k, "pid") == 0 || strcmp(k, "flags") == 0)
            continue;   /* the header's own fields */
        keys[pairs] = k;
        values[pairs++] = profile_string(p, p->meta[i].value);
    }
    buf b;
    buf_init(&b);
    capture_write_begin(&b, (uint64_t)p->start_time_us, c->pid, c->flags | CAPTURE_FLAG_AGGREGATE, keys, values,
                        pairs);
    /* Profile ids map to file ids one to one: string 0 is "" in both. */
    capture_deflate z;
    capture_deflate_init(&z, CAPTURE_ZLIB_LEVEL);   /* on failure: plain records */
    capture_tables_enc t;
    capture_tables_init(&t);
    t.z = &z;
    for (uint32_t i = 1; i < p->string_count; i++)
        capture_tables_string(&t, &b, p->strings[i], p->string_lengths[i]);
    for (uint32_t i = 0; i < p->function_count; i++)
        capture_tables_function(&t, &b, p->functions[i].name, p->functions[i].file, p->functions[i].first_line,
                                p->functions[i].kind);
    for (uint32_t i = 0; i < p->node_count; i++)
        capture_tables_node(&t, &b, p->nodes[i].parent == PROF_NO_PARENT ? UINT32_MAX : p->nodes[i].parent,
                            p->nodes[i].function, p->nodes[i].line);
    for (uint32_t i = 0; i < p->thread_count; i++)
        capture_tables_thread(&t, &b, p->threads[i].id, p->threads[i].name);
    capture_tables_end(&t, &b);
    capture_tables_free(&t);
    capture_deflate_free(&z);
    capture_write_aggregate(&b, rows, n);
    for (size_t i = 0; i < c->rss_count; i++)
        capture_write_rss(&b, (uint64_t)c->rss[i].time_us, c->rss[i].seq, (uint64_t)c->rss[i].rss_bytes);
    capture_write_trailer(&b, (uint64_t)p->end_time_us, c->event_count, c->dropped);
    free(rows);
    int rc = 0;
    if (buf_ok(&b) != 0)
        rc = prof_error_nomem(err);
    else if (buf_write_file(&b, path) < 0)
        rc = prof_error_set(err, -1, "%s: cannot write", path);
    buf_free(&b);
    return rc;
}
