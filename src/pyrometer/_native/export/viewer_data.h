/* viewer_data.h — the compact JSON the HTML flame graph embeds.
 *
 * The viewer gets the profile's interned shape, not its samples, so a
 * million samples cost no more than the distinct stacks they hit:
 *
 *   {"format": "pyrometer-viewer", "version": 1,
 *    "value_unit", "interpreter", "period_us", "mode", "start_time_us",
 *    "end_time_us", "sample_count", "total", "dropped", "warning",
 *    "strings":   [s0, s1, ...]                 string 0 is ""
 *    "functions": [name, file, first_line, kind, ...]     4 ints per function
 *    "nodes":     [parent_delta, function, line, ...]     3 ints per stack node;
 *                 parent = index - parent_delta, 0 marks a root; a parent
 *                 always comes before its children
 *    "threads":   [[id as a decimal string, name string], ...]
 *    "meta":      [key, value, ...]  string ids
 *    "weights":   [[node_delta, weight, ...], ...]  per thread: the weight of
 *                 samples whose leaf is each node, nodes ascending and
 *                 delta-coded from -1, zero weights left out
 *    "timeline":  [time_us, rss_bytes, heap_bytes, ...]}
 *
 * Only strings, functions and nodes that some sample reaches are shipped,
 * renumbered densely in first-use order (deterministic output). Every
 * string goes through buf_put_json_string, so the text is safe inside an
 * HTML <script> element; invalid UTF-8 becomes U+FFFD. */
#ifndef PYROMETER_VIEWER_DATA_H
#define PYROMETER_VIEWER_DATA_H

#include "analysis/profile.h"
#include "common/buf.h"
#include "common/error.h"

#define VIEWER_DATA_VERSION 1
/* A memory chart cannot show more points than pixels; longer timelines are
 * reduced to this many buckets, each keeping its highest point. */
#define VIEWER_MAX_TIMELINE_POINTS 20000
/* Samples are indexed with 32-bit ids while they are grouped by thread. */
#define VIEWER_MAX_SAMPLES UINT32_MAX

/* Appends the viewer JSON for p to out. 0, or -1 with err set (out of
 * memory); out may then hold a partial document. */
int viewer_data_write(const profile *p, buf *out, prof_error *err);

#endif
