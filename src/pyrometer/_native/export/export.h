/* export.h — the exporter registry: one profile in, one foreign format out.
 *
 * Every exporter reads only the profile model (analysis/profile.h) and the
 * call tree (analysis/calltree.h) and appends its output to a buf; writing
 * the file is the caller's business. No Python here. */
#ifndef PYROMETER_EXPORT_H
#define PYROMETER_EXPORT_H

#include <stdint.h>

#include "analysis/profile.h"
#include "common/buf.h"
#include "common/error.h"

typedef struct export_options {
    uint32_t thread;     /* thread index to export, or PROF_NONE for all threads */
    const char *name;    /* profile title (speedscope, gecko, callgrind cmd); NULL = "pyrometer" */
} export_options;

/* Format names in a stable order, NULL-terminated: collapsed, speedscope,
 * gecko, pprof, callgrind, pstats, chrome. */
extern const char *const export_format_names[];

/* Sets the defaults: every thread, no title. */
void export_options_init(export_options *opts);

/* 1 when `format` names a known exporter, else 0. */
int export_format_known(const char *format);

/* Appends `p` in `format` to `out`. 0, or -1 with err set (unknown format,
 * thread index out of range, out of memory). On failure `out` may hold
 * partial output. */
int export_profile(const profile *p, const char *format, const export_options *opts, buf *out,
                   prof_error *err);

#endif
