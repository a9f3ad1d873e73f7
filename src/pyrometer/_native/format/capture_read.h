/* capture_read.h — reads an allocation capture (capture_format.h) into
 * memory: its stacks into a profile (strings, functions, nodes, threads,
 * meta, header facts) and its events, RSS points and aggregate rows into
 * flat arrays that analysis/memory.c reduces.
 *
 * A stream that stops between records without a trailer (the process was
 * killed) loads with data.warning set. A bad magic, an unknown version, a
 * header or record cut in the middle, or an inconsistent record fails with
 * a one-line message naming the byte offset. */
#ifndef PYROMETER_CAPTURE_READ_H
#define PYROMETER_CAPTURE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/profile.h"
#include "common/error.h"
#include "format/capture_write.h"

typedef struct capture_event {
    uint64_t seq;
    uint64_t addr;
    uint64_t size;     /* allocations and munmap; 0 for frees */
    uint32_t node;     /* profile node id, or PROF_NONE (no Python stack) */
    uint32_t thread;   /* profile thread index */
    uint8_t kind;      /* capture_kind */
} capture_event;

typedef struct capture_rss_point {
    int64_t time_us;
    uint64_t seq;
    int64_t rss_bytes;
} capture_rss_point;

typedef struct capture_data {
    profile prof;                      /* node/function/thread ids used below */
    capture_event *events;
    size_t event_count, event_cap;
    capture_rss_point *rss;
    size_t rss_count, rss_cap;
    capture_aggregate_row *aggregate;  /* node already mapped to profile ids */
    size_t aggregate_count, aggregate_cap;
    uint64_t flags, pid;
    int complete;                      /* the trailer was read */
    uint64_t dropped;
} capture_data;

/* Reads the file at path into out (initialised here; free with
 * capture_data_free, also on failure). 0, or -1 with err set. */
int capture_read_file(const char *path, capture_data *out, prof_error *err);
int capture_read_buffer(const uint8_t *data, size_t len, capture_data *out, prof_error *err);
void capture_data_free(capture_data *c);

#endif
