/* profile.h — the in-memory profile: what every reader produces and every
 * view and exporter consumes.
 *
 * Everything is interned so a sample is a handful of integers:
 *   strings    — ids into one string table; id 0 is always "".
 *   functions  — (name, file, first line, kind), deduplicated.
 *   stack nodes — a prefix tree: (parent node, function, line). A stack is
 *                 the id of its leaf node; walking `parent` reaches the root.
 *   samples    — (leaf node, thread, weight, rss). The weight is 1 per CPU
 *                sample, or bytes for memory profiles (value_unit says which).
 *
 * The model is independent of any file format: vmprof files, allocation
 * captures and tests all build it through the profile_add_* calls. */
#ifndef PYROMETER_PROFILE_H
#define PYROMETER_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/hashidx.h"

#define PROF_NO_PARENT UINT32_MAX
#define PROF_NONE UINT32_MAX

typedef enum prof_frame_kind {
    PROF_FRAME_PYTHON = 0,
    PROF_FRAME_NATIVE = 1,
    PROF_FRAME_MARKER = 2,   /* synthetic: "<truncated>", PyPy's GC/JIT states, ... */
} prof_frame_kind;

typedef struct prof_function {
    uint32_t name;        /* string id */
    uint32_t file;        /* string id; 0 ("") when unknown */
    int32_t first_line;   /* 0 when unknown */
    uint8_t kind;         /* prof_frame_kind */
} prof_function;

typedef struct prof_stack_node {
    uint32_t parent;      /* caller's node, or PROF_NO_PARENT at the root */
    uint32_t function;
    int32_t line;         /* line executing in this frame; 0 when not recorded */
    uint32_t depth;       /* 1 at the root */
} prof_stack_node;

typedef struct prof_sample {
    uint32_t stack;       /* leaf node id */
    uint32_t thread;      /* index into threads */
    int64_t weight;
    int64_t rss_kb;       /* -1 when not recorded */
} prof_sample;

typedef struct prof_thread {
    uint64_t id;          /* as written in the file */
    uint32_t name;        /* string id; 0 when unknown */
} prof_thread;

/* One point of memory over time (allocation captures; RSS-only for CPU). */
typedef struct prof_timeline_point {
    int64_t time_us;      /* since the start of the run */
    int64_t rss_bytes;    /* -1 when not recorded */
    int64_t heap_bytes;   /* tracked heap; -1 when not recorded */
} prof_timeline_point;

typedef struct prof_meta {
    uint32_t key;         /* string ids */
    uint32_t value;
} prof_meta;

/* Mode bits as vmprof's header stores them. */
enum {
    PROF_MODE_MEMORY = 1,
    PROF_MODE_LINES = 2,
    PROF_MODE_NATIVE = 4,
    PROF_MODE_RPYTHON = 8,
    PROF_MODE_REAL_TIME = 16,
};

typedef struct profile {
    /* string table */
    char **strings;
    uint32_t *string_lengths;
    uint32_t string_count, string_cap;
    hashidx string_index;

    prof_function *functions;
    uint32_t function_count, function_cap;
    hashidx function_index;

    prof_stack_node *nodes;
    uint32_t node_count, node_cap;
    hashidx node_index;

    prof_sample *samples;
    size_t sample_count, sample_cap;

    prof_thread *threads;
    uint32_t thread_count, thread_cap;
    hashidx thread_index;     /* by id: files may hold many threads */

    prof_meta *meta;
    uint32_t meta_count, meta_cap;
    hashidx meta_index;       /* by key string id */

    prof_timeline_point *timeline;
    size_t timeline_count, timeline_cap;

    /* header facts */
    int64_t period_us;        /* requested sampling period; 0 for memory profiles */
    int64_t start_time_us;    /* epoch µs; 0 when unknown */
    int64_t end_time_us;
    uint32_t mode;            /* PROF_MODE_* */
    int format_version;       /* vmprof version read, or our capture version */
    char interpreter[32];     /* "cpython", "pypy", ... */
    const char *value_unit;   /* "samples" or "bytes" (static string) */
    uint64_t dropped;         /* samples lost to a full buffer */
    char warning[512];        /* e.g. "truncated at byte N"; "" when none */
} profile;

/* Sets up an empty profile (string 0 = ""). 0, or -1 on ENOMEM. */
int profile_init(profile *p);
void profile_free(profile *p);

/* Each intern call returns the id (existing or new), or PROF_NONE on ENOMEM. */
uint32_t profile_intern_string(profile *p, const char *s, size_t len);
uint32_t profile_intern_cstring(profile *p, const char *s);
uint32_t profile_intern_function(profile *p, uint32_t name, uint32_t file, int32_t first_line,
                                 prof_frame_kind kind);
uint32_t profile_intern_node(profile *p, uint32_t parent, uint32_t function, int32_t line);
/* The index of the thread with this id, added (unnamed) if new. */
uint32_t profile_intern_thread(profile *p, uint64_t id);

/* 0, or -1 on ENOMEM. */
int profile_add_sample(profile *p, uint32_t stack, uint32_t thread, int64_t weight, int64_t rss_kb);
/* Adds or replaces a META entry. 0, or -1 on ENOMEM. */
int profile_set_meta(profile *p, const char *key, const char *value, size_t value_len);
/* The META value for key, or NULL. */
const char *profile_get_meta(const profile *p, const char *key);

static inline const char *profile_string(const profile *p, uint32_t id)
{
    return id < p->string_count ? p->strings[id] : "";
}

/* 0, or -1 on ENOMEM. */
int profile_add_timeline_point(profile *p, int64_t time_us, int64_t rss_bytes, int64_t heap_bytes);

/* Sum of sample weights (samples, or bytes). */
int64_t profile_total_weight(const profile *p);

#endif
