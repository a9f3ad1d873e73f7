/* export_formats.h — what crosses files inside export/: each format's entry
 * point (called by the registry in export.c, which has already checked the
 * options) and the helpers several formats share (export_common.c). */
#ifndef PYROMETER_EXPORT_FORMATS_H
#define PYROMETER_EXPORT_FORMATS_H

#include "export/export.h"

/* ---- per-format entry points: 0, or -1 with err set ---------------------- */
int export_collapsed(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_speedscope(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_gecko(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_pprof(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_callgrind(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_pstats(const profile *p, const export_options *opts, buf *out, prof_error *err);
int export_chrome(const profile *p, const export_options *opts, buf *out, prof_error *err);

/* ---- shared helpers ------------------------------------------------------- */

/* Weight and number of samples whose leaf is each stack node, over the
 * samples of `thread` (PROF_NONE: all). Both arrays have p->node_count
 * entries (at least one) and are the caller's to free. 0, or -1 on ENOMEM. */
int export_node_self(const profile *p, uint32_t thread, int64_t **weight, int64_t **count, prof_error *err);

/* Weight of all samples per thread index (p->thread_count entries, at least
 * one), the caller's to free; NULL on ENOMEM. */
int64_t *export_thread_weights(const profile *p);

/* 1 for allocation profiles (weights are bytes), 0 for CPU samples. */
int export_is_memory(const profile *p);

/* The sampling period in µs; 1000 when the file did not record one. */
int64_t export_period_us(const profile *p);

/* opts->name, or "pyrometer". */
const char *export_title(const export_options *opts);

/* Appends "name (file:line)" (or just the name when the file is unknown) —
 * the one label every text format shows for a function. */
void export_put_function_label(buf *b, const profile *p, uint32_t function);

/* The display name of a thread: its recorded name, or "thread <id>". */
void export_put_thread_label(buf *b, const profile *p, uint32_t thread);

/* A dense intern table of (a, b) integer pairs: ids are 0, 1, 2, ... in
 * first-seen order, and a[id], b[id] give the pair back. Exporters use it for
 * pprof locations, gecko frames, callgrind cost lines and call edges. */
typedef struct export_pairs {
    uint64_t *a, *b;
    uint32_t count, cap;
    hashidx index;
} export_pairs;

void export_pairs_init(export_pairs *s);
/* The id of (a, b), added if new; PROF_NONE on ENOMEM. */
uint32_t export_pairs_intern(export_pairs *s, uint64_t a, uint64_t b);
void export_pairs_free(export_pairs *s);

/* 1 when s[0..len) is valid UTF-8. */
int export_utf8_valid(const char *s, size_t len);

#endif
