/* export.c — the exporter registry: maps a format name to its exporter. */
#include "export/export.h"

#include <string.h>

#include "export/export_formats.h"

typedef int (*export_fn)(const profile *p, const export_options *opts, buf *out, prof_error *err);

static const struct {
    const char *name;
    export_fn fn;
} exporters[] = {
    {"collapsed", export_collapsed}, {"speedscope", export_speedscope}, {"gecko", export_gecko},
    {"pprof", export_pprof},         {"callgrind", export_callgrind},   {"pstats", export_pstats},
    {"chrome", export_chrome},
};

#define EXPORTER_COUNT (sizeof(exporters) / sizeof(exporters[0]))

const char *const export_format_names[] = {
    "collapsed", "speedscope", "gecko", "pprof", "callgrind", "pstats", "chrome", NULL,
};

void export_options_init(export_options *opts)
{
    opts->thread = PROF_NONE;
    opts->name = NULL;
}

static export_fn find_exporter(const char *format)
{
    for (size_t i = 0; i < EXPORTER_COUNT; i++) {
        if (strcmp(exporters[i].name, format) == 0)
            return exporters[i].fn;
    }
    return NULL;
}

int export_format_known(const char *format)
{
    return find_exporter(format) != NULL;
}

int export_profile(const profile *p, const char *format, const export_options *opts, buf *out,
                   prof_error *err)
{
    export_fn fn = find_exporter(format);
    if (fn == NULL)
        return prof_error_set(err, -1, "unknown export format '%s'", format);
    if (opts->thread != PROF_NONE && opts->thread >= p->thread_count)
        return prof_error_set(err, -1, "no thread with index %u", opts->thread);
    if (fn(p, opts, out, err) < 0)
        return -1;
    if (buf_ok(out) < 0)
        return prof_error_nomem(err);
    return 0;
}
