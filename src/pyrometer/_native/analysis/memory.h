/* memory.h — reductions of an allocation capture: the peak (high-water
 * mark), what leaked (still allocated at the end), temporary allocations,
 * the heap over time, and the per-location tables behind `summary` and
 * `stats`.
 *
 * Events are replayed in global sequence order. Heap blocks are keyed by
 * address; mmap'ed regions are kept as address ranges so a munmap of part
 * of a region frees exactly that part. A free of an address the capture
 * never saw allocated (allocated before tracking started) is ignored. */
#ifndef PYROMETER_MEMORY_H
#define PYROMETER_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "format/capture_read.h"

typedef enum memory_view {
    MEMORY_VIEW_PEAK = 0,
    MEMORY_VIEW_LEAKS = 1,
    MEMORY_VIEW_TEMPORARY = 2,
} memory_view;

/* Adds to c->prof one sample per (stack, thread) weighted by the bytes of
 * the chosen view, and one timeline point per RSS record (RSS and tracked
 * heap at that moment). Temporary: blocks freed by the thread that
 * allocated them before it made `temporary_threshold` further allocations.
 * Allocations without a Python stack are put under a "<no Python stack>"
 * marker frame. 0, or -1 with err set. */
int memory_build_view(capture_data *c, memory_view view, uint32_t temporary_threshold, prof_error *err);

#define MEMORY_HISTOGRAM_BUCKETS 64   /* bucket i: sizes in [2^(i-1), 2^i), bucket 0: size 0 */

/* One source location: a function and line that allocated (own) or was on
 * the stack of an allocation (total). */
typedef struct memory_location {
    uint32_t function;         /* profile function id */
    int32_t line;
    int64_t own_bytes;         /* allocated with this location as the leaf frame */
    int64_t own_count;
    int64_t peak_own_bytes;    /* live at the peak, leaf frame here */
    int64_t peak_total_bytes;  /* live at the peak, anywhere on the stack (once per block) */
    int64_t leaked_bytes;      /* live at the end, leaf frame here */
} memory_location;

typedef struct memory_report {
    int64_t total_bytes, total_count;        /* every allocation */
    int64_t free_count;
    int64_t peak_bytes, peak_count;          /* live blocks at the high-water mark */
    int64_t leaked_bytes, leaked_count;      /* live at the end */
    int64_t peak_time_us;                    /* -1 when unknown */
    int64_t histogram[MEMORY_HISTOGRAM_BUCKETS];
    int64_t kind_count[CAPTURE_KIND_COUNT], kind_bytes[CAPTURE_KIND_COUNT];
    memory_location *locations;              /* sorted by (function, line) */
    size_t location_count;
} memory_report;

/* Builds the report (out is initialised here; free with memory_report_free,
 * also on failure). 0, or -1 with err set. */
int memory_report_build(capture_data *c, memory_report *out, prof_error *err);
void memory_report_free(memory_report *r);

/* Per-stack totals (peak, exit, all-time) of a capture, the rows an
 * --aggregate capture stores. Rows are sorted by node. *rows is malloc'ed.
 * 0, or -1 with err set. */
int memory_aggregate(capture_data *c, capture_aggregate_row **rows, size_t *count, prof_error *err);

/* Writes an --aggregate capture of c to path: c's header facts, its stacks,
 * per-stack totals (memory_aggregate) instead of events, its RSS points and
 * a trailer. 0, or -1 with err set. */
int memory_write_aggregate_file(capture_data *c, const char *path, prof_error *err);

#endif
