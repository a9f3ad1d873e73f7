#include "format/vmprof_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "format/vmprof_format.h"

/* A bounds-checked cursor over the file's bytes. Every read checks what is
 * left; a short read sets `truncated` and the caller stops there. */
typedef struct cursor {
    const uint8_t *data;
    size_t len;
    size_t pos;
    int word_size;    /* 8 on 64-bit Unix, 4 on 32-bit and Win64 */
    int addr_size;    /* 8 on 64-bit Unix and Win64, 4 on 32-bit */
    int truncated;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **out)
{
    if (c->len - c->pos < n) {
        c->truncated = 1;
        return -1;
    }
    *out = c->data + c->pos;
    c->pos += n;
    return 0;
}

static uint64_t load_le(const uint8_t *p, int size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (size == 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* the hot case: one load instead of a byte loop */
        return v;
    }
#endif
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int read_uint(cursor *c, int size, uint64_t *out)
{
    const uint8_t *p;
    if (take(c, (size_t)size, &p) < 0)
        return -1;
    *out = load_le(p, size);
    return 0;
}

#define read_word(c, out) read_uint((c), (c)->word_size, (out))
#define read_addr(c, out) read_uint((c), (c)->addr_size, (out))

static int read_byte(cursor *c, uint8_t *out)
{
    const uint8_t *p;
    if (take(c, 1, &p) < 0)
        return -1;
    *out = *p;
    return 0;
}

/* A word-length-prefixed string (META keys and values, symbol names). */
static int read_string(cursor *c, const uint8_t **s, size_t *len, prof_error *err)
{
    uint64_t n;
    size_t at = c->pos;
    if (read_word(c, &n) < 0)
        return -1;
    if (n > VMPROF_MAX_STRING)
        return prof_error_set(err, (int64_t)at, "string length %llu over the limit of %u bytes",
                              (unsigned long long)n, VMPROF_MAX_STRING);
    *len = (size_t)n;
    return take(c, (size_t)n, s);
}

/* ---- the address -> function table ---- */

/* An address named by more than one Python record: vmprof names a code
 * object when it is freed, and a new one at the same address again later.
 * Each sample takes the first such name written after it (else the last). */
typedef struct symbol_rename {
    uint32_t slot;
    uint32_t function;
    size_t pos;             /* where the naming record is in the file */
} symbol_rename;

typedef struct symbol_table {
    uint64_t *addrs;
    uint32_t *functions;
    size_t *positions;      /* where each slot's current name was written */
    uint8_t *ambiguous;     /* the slot has renames */
    uint32_t count, cap;
    hashidx index;
    symbol_rename *renames;
    uint32_t rename_count, rename_cap;
} symbol_table;

struct addr_key {
    const symbol_table *t;
    uint64_t addr;
};

static int addr_eq(const void *ctx, uint32_t index)
{
    const struct addr_key *k = ctx;
    return k->t->addrs[index] == k->addr;
}

/* The table slot for addr, or PROF_NONE. */
static uint32_t symbol_slot(const symbol_table *t, uint64_t addr)
{
    struct addr_key key = {t, addr};
    uint32_t i = hashidx_find(&t->index, hash_mix(addr, 0), addr_eq, &key);
    return i == UINT32_MAX ? PROF_NONE : i;
}

static int symbol_add(symbol_table *t, uint64_t addr, uint32_t function, size_t pos)
{
    if (t->count == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        uint64_t *addrs = realloc(t->addrs, cap * sizeof(*addrs));
        if (addrs == NULL)
            return -1;
        t->addrs = addrs;
        uint32_t *functions = realloc(t->functions, cap * sizeof(*functions));
        if (functions == NULL)
            return -1;
        t->functions = functions;
        size_t *positions = realloc(t->positions, cap * sizeof(*positions));
        if (positions == NULL)
            return -1;
        t->positions = positions;
        uint8_t *ambiguous = realloc(t->ambiguous, cap);
        if (ambiguous == NULL)
            return -1;
        t->ambiguous = ambiguous;
        t->cap = cap;
    }
    if (hashidx_insert(&t->index, hash_mix(addr, 0), t->count) < 0)
        return -1;
    t->addrs[t->count] = addr;
    t->functions[t->count] = function;
    t->positions[t->count] = pos;
    t->ambiguous[t->count] = 0;
    t->count++;
    return 0;
}

static int rename_add(symbol_table *t, uint32_t slot, uint32_t function, size_t pos)
{
    if (t->rename_count == t->rename_cap) {
        uint32_t cap = t->rename_cap ? t->rename_cap * 2 : 64;
        symbol_rename *renames = realloc(t->renames, cap * sizeof(*renames));
        if (renames == NULL)
            return -1;
        t->renames = renames;
        t->rename_cap = cap;
    }
    t->renames[t->rename_count++] = (symbol_rename){slot, function, pos};
    return 0;
}

/* The name of an ambiguous slot for a sample at pos: the first naming
 * record after the sample, else the last one. */
static uint32_t rename_for(const symbol_table *t, uint32_t slot, size_t pos)
{
    uint32_t last = t->functions[slot];
    for (uint32_t i = 0; i < t->rename_count; i++) {
        if (t->renames[i].slot != slot)
            continue;
        if (t->renames[i].pos > pos)
            return t->renames[i].function;
        last = t->renames[i].function;
    }
    return last;
}

static void symbol_table_free(symbol_table *t)
{
    free(t->addrs);
    free(t->functions);
    free(t->positions);
    free(t->ambiguous);
    free(t->renames);
    hashidx_free(&t->index);
}

/* Splits "py:<name>:<line>:<file>" (or "n:<symbol>:<line>:<file>") into a
 * function. The file may itself hold ':' (Windows drives), so name and line
 * are taken from the left. Anything else keeps the whole text as the name. */
static uint32_t intern_symbol(profile *p, const uint8_t *s, size_t len, int native)
{
    const char *text = (const char *)s;
    const char *end = text + len;
    prof_frame_kind kind = native ? PROF_FRAME_NATIVE : PROF_FRAME_PYTHON;
    const char *prefix_end = memchr(text, ':', len);
    if (prefix_end != NULL && (prefix_end - text == 2 || prefix_end - text == 1) &&
        (memcmp(text, "py", 2) == 0 || text[0] == 'n')) {
        if (text[0] == 'n')
            kind = PROF_FRAME_NATIVE;
        const char *name = prefix_end + 1;
        const char *name_end = memchr(name, ':', (size_t)(end - name));
        if (name_end != NULL) {
            const char *line = name_end + 1;
            const char *line_end = memchr(line, ':', (size_t)(end - line));
            if (line_end != NULL) {
                long value = 0;
                int digits = line_end > line;
                for (const char *q = line; q < line_end && digits; q++) {
                    if (*q < '0' || *q > '9' || value > 100000000)
                        digits = 0;
                    else
                        value = value * 10 + (*q - '0');
                }
                if (digits) {
                    const char *file = line_end + 1;
                    size_t file_len = (size_t)(end - file);
                    if (file_len == 1 && file[0] == '-')
                        file_len = 0;
                    uint32_t n = profile_intern_string(p, name, (size_t)(name_end - name));
                    uint32_t f = profile_intern_string(p, file, file_len);
                    if (n == PROF_NONE || f == PROF_NONE)
                        return PROF_NONE;
                    return profile_intern_function(p, n, f, (int32_t)value, kind);
                }
            }
        }
    }
    uint32_t n = profile_intern_string(p, text, len);
    if (n == PROF_NONE)
        return PROF_NONE;
    return profile_intern_function(p, n, 0, 0, kind);
}

/* A function for an address no symbol record named: vmprof shows these by
 * address too. Odd addresses are native by vmprof's convention. */
static uint32_t unnamed_function(profile *p, symbol_table *symbols, uint64_t addr)
{
    char name[40];
    snprintf(name, sizeof(name), "0x%llx", (unsigned long long)addr);
    uint32_t n = profile_intern_cstring(p, name);
    if (n == PROF_NONE)
        return PROF_NONE;
    uint32_t f = profile_intern_function(p, n, 0, 0, (addr & 1) ? PROF_FRAME_NATIVE : PROF_FRAME_PYTHON);
    if (f != PROF_NONE && symbol_add(symbols, addr, f, 0) < 0)
        return PROF_NONE;
    return f;
}

static uint32_t marker_function(profile *p, const char *name)
{
    uint32_t n = profile_intern_cstring(p, name);
    return n == PROF_NONE ? PROF_NONE : profile_intern_function(p, n, 0, 0, PROF_FRAME_MARKER);
}

/* ---- whole stacks already seen -> their leaf node ----
 * Most samples repeat a stack seen before; hashing the raw entries once
 * is far cheaper than interning every frame again. */

typedef struct stack_cache {
    hashidx index;
    uint64_t *arena;        /* each stack's entries: frames then lines */
    size_t arena_len, arena_cap;
    size_t *offsets;
    uint32_t *lengths;      /* frames per stack */
    uint32_t *leaves;
    uint32_t count, cap;
} stack_cache;

struct stack_key {
    const stack_cache *c;
    const uint64_t *frames;
    const int32_t *lines;
    uint32_t n;
};

static int stack_eq(const void *ctx, uint32_t index)
{
    const struct stack_key *k = ctx;
    if (k->c->lengths[index] != k->n)
        return 0;
    if (k->n == 0)
        return 1; /* empty stacks: the arena may still be NULL, and memcmp(NULL) is UB */
    const uint64_t *stored = k->c->arena + k->c->offsets[index];
    if (memcmp(stored, k->frames, k->n * sizeof(uint64_t)) != 0)
        return 0;
    for (uint32_t i = 0; i < k->n; i++) {
        if ((int32_t)stored[k->n + i] != k->lines[i])
            return 0;
    }
    return 1;
}

static uint64_t stack_hash(const uint64_t *frames, const int32_t *lines, uint32_t n)
{
    uint64_t h = n;
    for (uint32_t i = 0; i < n; i++)
        h = hash_mix(h, frames[i] ^ ((uint64_t)(uint32_t)lines[i] << 48));
    return h;
}

static uint32_t stack_cache_find(const stack_cache *c, const uint64_t *frames, const int32_t *lines, uint32_t n,
                                 uint64_t hash)
{
    struct stack_key key = {c, frames, lines, n};
    uint32_t i = hashidx_find(&c->index, hash, stack_eq, &key);
    return i == UINT32_MAX ? PROF_NONE : c->leaves[i];
}

static int stack_cache_add(stack_cache *c, const uint64_t *frames, const int32_t *lines, uint32_t n, uint64_t hash,
                           uint32_t leaf)
{
    if (c->count == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 1024;
        size_t *offsets = realloc(c->offsets, cap * sizeof(*offsets));
        if (offsets == NULL)
            return -1;
        c->offsets = offsets;
        uint32_t *lengths = realloc(c->lengths, cap * sizeof(*lengths));
        if (lengths == NULL)
            return -1;
        c->lengths = lengths;
        uint32_t *leaves = realloc(c->leaves, cap * sizeof(*leaves));
        if (leaves == NULL)
            return -1;
        c->leaves = leaves;
        c->cap = cap;
    }
    if (c->arena_len + 2 * (size_t)n > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 4096;
        while (cap < c->arena_len + 2 * (size_t)n)
            cap *= 2;
        uint64_t *arena = realloc(c->arena, cap * sizeof(*arena));
        if (arena == NULL)
            return -1;
        c->arena = arena;
        c->arena_cap = cap;
    }
    if (hashidx_insert(&c->index, hash, c->count) < 0)
        return -1;
    if (n > 0) { /* the arena is NULL until the first non-empty stack: NULL + 0 is UB */
        uint64_t *dst = c->arena + c->arena_len;
        memcpy(dst, frames, n * sizeof(uint64_t));
        for (uint32_t i = 0; i < n; i++)
            dst[n + i] = (uint64_t)(uint32_t)lines[i];
    }
    c->offsets[c->count] = c->arena_len;
    c->lengths[c->count] = n;
    c->leaves[c->count] = leaf;
    c->arena_len += 2 * (size_t)n;
    c->count++;
    return 0;
}

static void stack_cache_free(stack_cache *c)
{
    hashidx_free(&c->index);
    free(c->arena);
    free(c->offsets);
    free(c->lengths);
    free(c->leaves);
}

/* ---- records ---- */

typedef struct reader {
    cursor c;
    profile *p;
    symbol_table symbols;
    stack_cache stacks;
    int version;
    int have_header;
    int saw_trailer;
    uint64_t *frames;      /* one stack's raw entries, reused */
    int32_t *lines;
    size_t frames_cap;
    prof_error *err;
} reader;

static int fail(reader *r, size_t at, const char *what)
{
    return prof_error_set(r->err, (int64_t)at, "%s at byte %zu", what, at);
}

static int read_prologue(reader *r)
{
    cursor *c = &r->c;
    if (c->len < 16)
        return prof_error_set(r->err, 0, "not a vmprof profile (too short: %zu bytes)", c->len);
    /* 64-bit: word 0 is 8 zero bytes and word 1 is 3. 32-bit and Win64 use
     * 4-byte words, so 3 appears at byte 4 instead. */
    if (load_le(c->data, 8) == 0 && load_le(c->data + 8, 8) == 3) {
        c->word_size = 8;
        c->addr_size = 8;
    } else if (load_le(c->data, 4) == 0 && load_le(c->data + 4, 4) == 3) {
        c->word_size = 4;
        c->addr_size = 4;
    } else {
        return prof_error_set(r->err, 0, "not a vmprof profile (bad prologue)");
    }
    uint64_t words[5];
    for (int i = 0; i < 5; i++) {
        if (read_word(c, &words[i]) < 0)
            return prof_error_set(r->err, (int64_t)c->pos, "truncated prologue at byte %zu", c->pos);
    }
    if (words[2] != 0)
        return prof_error_set(r->err, (int)(2 * c->word_size), "not a vmprof profile (bad prologue)");
    if (words[4] == 1 && c->word_size == 4)
        c->addr_size = 8; /* Win64: 4-byte longs, 8-byte pointers */
    else if (words[4] != 0)
        return prof_error_set(r->err, 4 * c->word_size, "not a vmprof profile (bad prologue)");
    if (words[3] > 1000000000ULL)
        return prof_error_set(r->err, 3 * c->word_size, "implausible sampling period %llu µs",
                              (unsigned long long)words[3]);
    r->p->period_us = (int64_t)words[3];
    return 0;
}

static int read_header(reader *r, size_t at)
{
    cursor *c = &r->c;
    const uint8_t *v;
    if (take(c, 2, &v) < 0)
        return 1;
    int version = (v[0] << 8) | v[1];
    if (version > VMPROF_VERSION_CURRENT)
        return prof_error_set(r->err, (int64_t)at, "unsupported vmprof format version %d at byte %zu (this reader knows 0-%d)",
                              version, at, VMPROF_VERSION_CURRENT);
    if (r->have_header)
        return fail(r, at, "second header record");
    uint8_t mode = 0, name_len = 0;
    if (version >= VMPROF_VERSION_MODE_AWARE && read_byte(c, &mode) < 0)
        return 1;
    if (read_byte(c, &name_len) < 0)
        return 1;
    const uint8_t *name;
    if (take(c, name_len, &name) < 0)
        return 1;
    r->version = version;
    r->have_header = 1;
    r->p->format_version = version;
    if (version < VMPROF_VERSION_MODE_AWARE && version == VMPROF_VERSION_MEMORY)
        mode |= PROF_MODE_MEMORY;
    size_t n = name_len < sizeof(r->p->interpreter) - 1 ? name_len : sizeof(r->p->interpreter) - 1;
    memcpy(r->p->interpreter, name, n);
    r->p->interpreter[n] = '\0';
    if (strcmp(r->p->interpreter, "pypy") == 0)
        mode |= PROF_MODE_RPYTHON; /* as vmprof's reader does */
    r->p->mode = mode;
    return 0;
}

static int read_time(reader *r, int64_t *out)
{
    const uint8_t *t;
    if (take(&r->c, 24, &t) < 0)
        return 1;
    int64_t seconds = (int64_t)load_le(t, 8);
    int64_t micros = (int64_t)load_le(t + 8, 8);
    /* Untrusted values: a time that does not fit in µs is unknown (0), not UB. */
    if (__builtin_mul_overflow(seconds, 1000000, out) || __builtin_add_overflow(*out, micros, out))
        *out = 0;
    return 0;
}

static int read_meta(reader *r, size_t at)
{
    const uint8_t *key = NULL, *value = NULL;
    size_t key_len = 0, value_len = 0;
    r->err->message[0] = '\0';
    if (read_string(&r->c, &key, &key_len, r->err) < 0 || read_string(&r->c, &value, &value_len, r->err) < 0)
        return r->err->message[0] ? -1 : 1;
    char keybuf[256];
    if (key_len >= sizeof(keybuf))
        return fail(r, at, "META key too long");
    memcpy(keybuf, key, key_len);
    keybuf[key_len] = '\0';
    if (profile_set_meta(r->p, keybuf, (const char *)value, value_len) < 0)
        return prof_error_nomem(r->err);
    return 0;
}

/* Symbols are read in a first pass so stacks that come before their
 * symbol records (vmprof writes names at the end) still get names. */
static int read_symbol(reader *r, size_t at, int native, int store)
{
    uint64_t addr;
    const uint8_t *name = NULL;
    size_t name_len = 0;
    r->err->message[0] = '\0';
    if (read_addr(&r->c, &addr) < 0)
        return 1;
    if (read_string(&r->c, &name, &name_len, r->err) < 0)
        return r->err->message[0] ? -1 : 1;
    if (!store)
        return 0;
    /* vmprof names every address again as native ("n:...") when it stops;
     * like its reader, a Python name ("py:...") wins over a native one. */
    symbol_table *t = &r->symbols;
    uint32_t existing = symbol_slot(t, addr);
    int python_name = name_len >= 3 && memcmp(name, "py:", 3) == 0;
    if (existing != PROF_NONE && !python_name)
        return 0;
    uint32_t f = intern_symbol(r->p, name, name_len, native && !python_name);
    if (f == PROF_NONE)
        return prof_error_nomem(r->err);
    if (existing == PROF_NONE)
        return symbol_add(t, addr, f, at) < 0 ? prof_error_nomem(r->err) : 0;
    if (r->p->functions[t->functions[existing]].kind != PROF_FRAME_PYTHON) {
        t->functions[existing] = f; /* a Python name replaces a native one */
        t->positions[existing] = at;
        return 0;
    }
    if (t->functions[existing] == f && !t->ambiguous[existing])
        return 0;
    /* A second Python name for one address: its code object died and
     * another took its place. Keep both, with where they were written. */
    if (!t->ambiguous[existing]) {
        t->ambiguous[existing] = 1;
        if (rename_add(t, existing, t->functions[existing], t->positions[existing]) < 0)
            return prof_error_nomem(r->err);
    }
    if (rename_add(t, existing, f, at) < 0)
        return prof_error_nomem(r->err);
    t->functions[existing] = f;
    return 0;
}

/* The function for an address in a sample written at byte pos. */
static uint32_t function_for_addr(reader *r, uint64_t addr, size_t pos)
{
    uint32_t slot = symbol_slot(&r->symbols, addr);
    if (slot == PROF_NONE)
        return unnamed_function(r->p, &r->symbols, addr);
    return r->symbols.ambiguous[slot] ? rename_for(&r->symbols, slot, pos) : r->symbols.functions[slot];
}

static const char *rpython_tag_name(uint64_t tag)
{
    switch (tag) {
    case VMPROF_BLACKHOLE_TAG: return "<blackhole>";
    case VMPROF_JITTED_TAG: return "<jitted>";
    case VMPROF_JITTING_TAG: return "<jitting>";
    case VMPROF_GC_TAG: return "<gc>";
    case VMPROF_ASSEMBLER_TAG: return "<assembler>";
    case VMPROF_NATIVE_TAG: return "<native>";
    default: return "<unknown tag>";
    }
}

static int ensure_frames(reader *r, size_t n)
{
    if (n <= r->frames_cap)
        return 0;
    uint64_t *frames = realloc(r->frames, n * sizeof(*frames));
    if (frames == NULL)
        return -1;
    r->frames = frames;
    int32_t *lines = realloc(r->lines, n * sizeof(*lines));
    if (lines == NULL)
        return -1;
    r->lines = lines;
    r->frames_cap = n;
    return 0;
}

/* One STACKTRACE record: word count, word depth, entries (leaf first),
 * thread id (version >= 1), RSS kB (memory mode). Returns 0, 1 when the
 * file ends inside it, or -1 on an error. */
static int read_stack(reader *r, size_t at, int store)
{
    cursor *c = &r->c;
    uint64_t count, depth;
    if (read_word(c, &count) < 0 || read_word(c, &depth) < 0)
        return 1;
    if (count != 1)
        return prof_error_set(r->err, (int64_t)at, "stack record with count %llu (expected 1) at byte %zu",
                              (unsigned long long)count, at);
    if (depth > VMPROF_MAX_DEPTH)
        return prof_error_set(r->err, (int64_t)at, "stack depth %llu over the limit of %d at byte %zu",
                              (unsigned long long)depth, VMPROF_MAX_DEPTH, at);
    int rpython = (r->p->mode & PROF_MODE_RPYTHON) != 0;
    int lines = (r->p->mode & PROF_MODE_LINES) != 0;
    if ((rpython || lines) && depth % 2 != 0)
        return prof_error_set(r->err, (int64_t)at, "odd stack depth %llu in a paired-entry profile at byte %zu",
                              (unsigned long long)depth, at);
    if (c->len - c->pos < depth * (size_t)c->addr_size) {
        c->truncated = 1;
        return 1;
    }
    if (!store) {
        c->pos += depth * (size_t)c->addr_size; /* first pass: only skip the entries */
    } else if (ensure_frames(r, (size_t)depth + 1) < 0) {
        return prof_error_nomem(r->err);
    }
    size_t nframes = 0;
    for (uint64_t i = 0; store && i < depth; i++) {
        uint64_t entry = 0;
        read_addr(c, &entry);
        if (rpython) {
            /* (tag, value) pairs */
            uint64_t value = 0;
            read_addr(c, &value);
            i++;
            if (entry == VMPROF_CODE_TAG) {
                r->frames[nframes] = value;
                r->lines[nframes++] = 0;
            } else if (entry == VMPROF_JITTED_TAG || entry == VMPROF_ASSEMBLER_TAG) {
                /* Machine-code addresses that annotate the Python frame next
                 * to them; they are not frames of their own. */
            } else if (entry == VMPROF_NATIVE_TAG) {
                r->frames[nframes] = value | 1;
                r->lines[nframes++] = 0;
            } else {
                /* JIT/GC states mark a frame; value 0 marks them by tag only. */
                r->frames[nframes] = UINT64_MAX - entry;
                r->lines[nframes++] = 0;
            }
        } else if (lines) {
            /* [line, code] pairs, leaf frame first. */
            uint64_t code = 0;
            read_addr(c, &code);
            i++;
            /* Writers store the line positive; vmprof's reader negates it in
             * memory only. Accept either sign (INT64_MIN from a file reads as
             * unknown: negating it would overflow). */
            int64_t line = (int64_t)(c->addr_size == 4 ? (uint64_t)(int64_t)(int32_t)entry : entry);
            if (line < 0)
                line = line == INT64_MIN ? 0 : -line;
            r->frames[nframes] = code;
            r->lines[nframes++] = line > 0 && line < INT32_MAX ? (int32_t)line : 0;
        } else {
            r->frames[nframes] = entry;
            r->lines[nframes++] = 0;
        }
    }
    uint64_t thread_id = 0, rss = 0;
    if (r->version >= VMPROF_VERSION_THREAD_ID && read_addr(c, &thread_id) < 0)
        return 1;
    if ((r->p->mode & PROF_MODE_MEMORY) && read_addr(c, &rss) < 0)
        return 1;
    uint64_t timestamp_ns;
    if (r->version >= VMPROF_VERSION_SAMPLE_TIME && read_uint(c, 8, &timestamp_ns) < 0)
        return 1;
    if (!store)
        return 0;
    /* With renamed addresses the same raw stack can mean different
     * functions at different places in the file: no caching then. */
    int cacheable = r->symbols.rename_count == 0 && nframes > 0;
    uint64_t hash = stack_hash(r->frames, r->lines, (uint32_t)nframes);
    uint32_t node = cacheable ? stack_cache_find(&r->stacks, r->frames, r->lines, (uint32_t)nframes, hash) : PROF_NONE;
    if (node != PROF_NONE)
        goto add_sample;
    /* Build root first: the file lists the leaf first. */
    node = PROF_NO_PARENT;
    for (size_t k = nframes; k-- > 0;) {
        uint64_t addr = r->frames[k];
        uint32_t f;
        if (rpython && addr > UINT64_MAX - 16)
            f = marker_function(r->p, rpython_tag_name(UINT64_MAX - addr));
        else
            f = function_for_addr(r, addr, at);
        if (f == PROF_NONE)
            return prof_error_nomem(r->err);
        node = profile_intern_node(r->p, node, f, r->lines[k]);
        if (node == PROF_NONE)
            return prof_error_nomem(r->err);
    }
    if (node == PROF_NO_PARENT) {
        /* An empty stack still counts as a sample, as vmprof counts it. */
        uint32_t f = marker_function(r->p, "<no stack>");
        node = f == PROF_NONE ? PROF_NONE : profile_intern_node(r->p, PROF_NO_PARENT, f, 0);
        if (node == PROF_NONE)
            return prof_error_nomem(r->err);
    }
    if (cacheable && stack_cache_add(&r->stacks, r->frames, r->lines, (uint32_t)nframes, hash, node) < 0)
        return prof_error_nomem(r->err);
add_sample:;
    uint32_t thread = profile_intern_thread(r->p, thread_id);
    if (thread == PROF_NONE ||
        profile_add_sample(r->p, node, thread, 1, (r->p->mode & PROF_MODE_MEMORY) ? (int64_t)rss : -1) < 0)
        return prof_error_nomem(r->err);
    return 0;
}

/* One pass over the records. The first pass (store_stacks = 0) only keeps
 * symbols and header facts; the second builds samples. */
static int read_records(reader *r, int store_stacks)
{
    cursor *c = &r->c;
    while (c->pos < c->len) {
        size_t at = c->pos;
        uint8_t tag;
        read_byte(c, &tag);
        int rc;
        switch (tag) {
        case VMPROF_TAG_HEADER:
            if (store_stacks) {
                /* Already parsed in the first pass: skip it the same way. */
                const uint8_t *v;
                uint8_t mode, n;
                const uint8_t *name;
                rc = take(c, 2, &v) < 0 ||
                     (r->version >= VMPROF_VERSION_MODE_AWARE && read_byte(c, &mode) < 0) ||
                     read_byte(c, &n) < 0 || take(c, n, &name) < 0;
            } else {
                rc = read_header(r, at);
            }
            break;
        case VMPROF_TAG_STACKTRACE:
            if (!r->have_header && r->version == 0 && !store_stacks)
                r->version = VMPROF_VERSION_BASE;
            rc = read_stack(r, at, store_stacks);
            break;
        case VMPROF_TAG_VIRTUAL_IP:
        case VMPROF_TAG_NATIVE_SYMBOLS:
            rc = read_symbol(r, at, tag == VMPROF_TAG_NATIVE_SYMBOLS, !store_stacks);
            break;
        case VMPROF_TAG_META:
            rc = store_stacks ? (read_meta(r, at) < 0 ? -1 : 0) : 0;
            if (!store_stacks) {
                const uint8_t *s;
                size_t n;
                r->err->message[0] = '\0';
                rc = read_string(c, &s, &n, r->err) < 0 || read_string(c, &s, &n, r->err) < 0;
                if (rc && r->err->message[0])
                    rc = -1;
            }
            break;
        case VMPROF_TAG_INTERP_NAME: {
            /* Pre-header files (version 0): a length byte and the name. */
            uint8_t n;
            const uint8_t *name;
            rc = read_byte(c, &n) < 0 || take(c, n, &name) < 0;
            if (rc == 0 && !r->have_header) {
                size_t k = n < sizeof(r->p->interpreter) - 1 ? n : sizeof(r->p->interpreter) - 1;
                memcpy(r->p->interpreter, name, k);
                r->p->interpreter[k] = '\0';
            }
            break;
        }
        case VMPROF_TAG_TIME_N_ZONE:
            rc = read_time(r, &r->p->start_time_us);
            break;
        case VMPROF_TAG_TRAILER:
            rc = read_time(r, &r->p->end_time_us);
            if (rc == 0) {
                r->saw_trailer = 1;
                return 0; /* readers stop at the trailer */
            }
            break;
        default:
            return prof_error_set(r->err, (int64_t)at, "unknown record tag 0x%02x at byte %zu", tag, at);
        }
        if (rc < 0)
            return -1;
        if (rc > 0) {
            c->truncated = 1;
            c->pos = at;
            return 0;
        }
    }
    return 0;
}

int vmprof_looks_like_profile(const uint8_t *data, size_t len)
{
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        return 1;
    if (len >= 16 && load_le(data, 8) == 0 && load_le(data + 8, 8) == 3)
        return 1;
    return len >= 8 && load_le(data, 4) == 0 && load_le(data + 4, 4) == 3;
}

/* Inflates a gzip stream, bounded by VMPROF_MAX_DECOMPRESSED. A stream cut
 * short keeps what inflated so far (the reader then warns). */
static int gunzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len, int *cut_short,
                  prof_error *err)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return prof_error_set(err, 0, "cannot start gzip decoding");
    /* A first guess from the input size, never above the named limit. */
    size_t cap = len > (VMPROF_MAX_DECOMPRESSED - 4096) / 4 ? VMPROF_MAX_DECOMPRESSED : len * 4 + 4096, used = 0;
    uint8_t *result = malloc(cap);
    if (result == NULL) {
        inflateEnd(&z);
        return prof_error_nomem(err);
    }
    z.next_in = (Bytef *)data;
    size_t in_left = len;
    int rc = Z_OK;
    *cut_short = 0;
    while (rc != Z_STREAM_END) {
        if (used == cap) {
            if (cap >= VMPROF_MAX_DECOMPRESSED) {
                free(result);
                inflateEnd(&z);
                return prof_error_set(err, -1, "gzip content larger than the limit of %zu bytes",
                                      (size_t)VMPROF_MAX_DECOMPRESSED);
            }
            cap = cap * 2 > VMPROF_MAX_DECOMPRESSED ? VMPROF_MAX_DECOMPRESSED : cap * 2;
            uint8_t *grown = realloc(result, cap);
            if (grown == NULL) {
                free(result);
                inflateEnd(&z);
                return prof_error_nomem(err);
            }
            result = grown;
        }
        uInt chunk_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        z.avail_in = chunk_in;
        size_t out_room = cap - used > (1u << 30) ? (1u << 30) : cap - used;
        z.next_out = result + used;
        z.avail_out = (uInt)out_room;
        rc = inflate(&z, Z_NO_FLUSH);
        in_left -= chunk_in - z.avail_in;
        used += out_room - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && in_left == 0) {
            *cut_short = 1;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            if (used == 0) {
                free(result);
                inflateEnd(&z);
                return prof_error_set(err, (int64_t)(len - in_left), "corrupt gzip data at byte %zu",
                                      len - in_left);
            }
            *cut_short = 1;
            break;
        }
    }
    inflateEnd(&z);
    *out = result;
    *out_len = used;
    return 0;
}

static int parse(const uint8_t *data, size_t len, profile *p, prof_error *err)
{
    reader r;
    memset(&r, 0, sizeof(r));
    r.c.data = data;
    r.c.len = len;
    r.p = p;
    r.err = err;
    int rc = read_prologue(&r);
    size_t records_start = r.c.pos;
    if (rc == 0)
        rc = read_records(&r, 0);
    if (rc == 0 && !r.have_header && r.c.pos == records_start)
        rc = prof_error_set(err, (int64_t)records_start, "truncated profile: cut short in the header at byte %zu",
                            records_start);
    if (rc == 0) {
        size_t end_first = r.c.pos;
        int truncated = r.c.truncated;
        r.c.pos = records_start;
        r.c.truncated = 0;
        r.saw_trailer = 0;
        rc = read_records(&r, 1);
        if (rc == 0 && (truncated || !r.saw_trailer)) {
            if (p->sample_count == 0 && truncated)
                rc = prof_error_set(err, (int64_t)end_first,
                                    "truncated profile: cut short at byte %zu before any complete sample", end_first);
            else if (truncated)
                snprintf(p->warning, sizeof(p->warning),
                         "profile cut short at byte %zu; kept %zu complete samples", end_first, p->sample_count);
            else
                snprintf(p->warning, sizeof(p->warning),
                         "profile has no trailer (the profiled process may have been killed); kept %zu samples",
                         p->sample_count);
        }
    }
    symbol_table_free(&r.symbols);
    stack_cache_free(&r.stacks);
    free(r.frames);
    free(r.lines);
    return rc;
}

int vmprof_read_buffer(const uint8_t *data, size_t len, profile *out, prof_error *err)
{
    if (profile_init(out) < 0)
        return prof_error_nomem(err);
    if (len == 0)
        return prof_error_set(err, 0, "empty file");
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        int cut_short = 0;
        if (gunzip(data, len, &plain, &plain_len, &cut_short, err) < 0)
            return -1;
        int rc = parse(plain, plain_len, out, err);
        if (rc == 0 && cut_short && out->warning[0] == '\0')
            snprintf(out->warning, sizeof(out->warning), "gzip stream cut short; kept %zu samples",
                     out->sample_count);
        free(plain);
        return rc;
    }
    return parse(data, len, out, err);
}

int vmprof_read_file(const char *path, profile *out, prof_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        profile_init(out);
        return prof_error_set(err, -1, "%s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int saved = errno;
        close(fd);
        profile_init(out);
        return prof_error_set(err, -1, "%s", S_ISDIR(st.st_mode) ? "is a directory" : strerror(saved));
    }
    if (st.st_size == 0) {
        close(fd);
        profile_init(out);
        return prof_error_set(err, 0, "empty file");
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        profile_init(out);
        return prof_error_set(err, -1, "cannot map file: %s", strerror(errno));
    }
    int rc = vmprof_read_buffer(map, (size_t)st.st_size, out, err);
    munmap(map, (size_t)st.st_size);
    return rc;
}
