/* capture_write.h — encodes allocation capture records (capture_format.h)
 * into a buf. Used by the capture writer thread and by tests; knows nothing
 * about Python or hooks. Each call appends one complete record, so whatever
 * a writer has flushed is always a readable prefix of a capture. */
#ifndef PYROMETER_CAPTURE_WRITE_H
#define PYROMETER_CAPTURE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "common/buf.h"
#include "format/capture_format.h"

/* Magic, version and the HEADER record. keys/values are `pairs` strings. */
void capture_write_begin(buf *b, uint64_t start_time_us, uint64_t pid, uint64_t flags,
                         const char *const *keys, const char *const *values, size_t pairs);
void capture_write_string(buf *b, const char *s, size_t len);
void capture_write_function(buf *b, uint32_t name, uint32_t file, int32_t first_line, int kind);
void capture_write_thread(buf *b, uint64_t os_tid, uint32_t name);
void capture_write_rss(buf *b, uint64_t time_us, uint64_t seq, uint64_t rss_bytes);
void capture_write_trailer(buf *b, uint64_t end_time_us, uint64_t events, uint64_t dropped);

/* One per-stack line of an AGGREGATE record. node is a node id or UINT32_MAX
 * for allocations without a Python stack. */
typedef struct capture_aggregate_row {
    uint32_t node;
    uint64_t peak_bytes, peak_count, exit_bytes, exit_count, total_bytes, total_count;
} capture_aggregate_row;
void capture_write_aggregate(buf *b, const capture_aggregate_row *rows, size_t n);

/* Level 1: level 6 made captures 16% smaller but the writer too slow to
 * keep up with --trace-python-allocators on two cores (producers waited on
 * full rings). */
#ifndef CAPTURE_ZLIB_LEVEL
#define CAPTURE_ZLIB_LEVEL 1
#endif

/* The file's deflate stream (capture_format.h): one per file, shared by the
 * tables and the events encoders. */
typedef struct capture_deflate {
    z_stream z;
    int ready;       /* 1 after a successful init; 0 again once a call failed */
    buf packed;      /* output of the record being compressed */
} capture_deflate;

/* 0, or -1 (out of memory: records are then written uncompressed). */
int capture_deflate_init(capture_deflate *d, int level);
void capture_deflate_free(capture_deflate *d);

/* The stack tables under construction: strings, functions, nodes and
 * threads defined since the last capture_tables_end, kept back so that they
 * go out as one TABLES record (one NODES record inside for each run of
 * nodes). Node ids count on across ends: use one encoder per file. Each add
 * may end the tables into out itself when they grow large (so no record
 * passes the reader's size limit); what was added always lands in out before
 * anything the caller appends after the next capture_tables_end. */
typedef struct capture_tables_enc {
    capture_deflate *z;      /* NULL: plain records (set after init) */
    buf raw;                 /* finished records, in file order */
    buf nodes;               /* entries of the open NODES record */
    uint64_t open_nodes;     /* how many */
    uint32_t next_node;      /* id of the next node added */
    uint32_t prev_function;  /* function of the open record's last entry */
} capture_tables_enc;

void capture_tables_init(capture_tables_enc *t);
void capture_tables_free(capture_tables_enc *t);
void capture_tables_string(capture_tables_enc *t, buf *out, const char *s, size_t len);
void capture_tables_function(capture_tables_enc *t, buf *out, uint32_t name, uint32_t file, int32_t first_line,
                             int kind);
/* Defines node t->next_node. parent is an earlier node id, or UINT32_MAX at the root. */
void capture_tables_node(capture_tables_enc *t, buf *out, uint32_t parent, uint32_t function, int32_t line);
void capture_tables_thread(capture_tables_enc *t, buf *out, uint64_t os_tid, uint32_t name);
/* Appends the pending tables to out (nothing when there are none). */
void capture_tables_end(capture_tables_enc *t, buf *out);

/* An EVENTS record under construction: add events in sequence order, then
 * end it into the output buffer. */
#define CAPTURE_SEEN_SLOTS 1024
typedef struct capture_events_enc {
    capture_deflate *z;    /* NULL: plain EVENTS records; else ZEVENTS (set after init) */
    buf heads, addrs, sizes, nodes;   /* the columns (capture_format.h) */
    uint64_t count;
    uint64_t first_seq, prev_seq, prev_addr;
    uint64_t prev_node;    /* node+1 of the last allocation */
    /* Where each address was last seen, hashed: finds the reference back
     * to a recent event in one probe (a collision only costs compactness). */
    struct {
        uint64_t addr, pos;   /* pos: the event's position + 1 (0: empty) */
    } seen[CAPTURE_SEEN_SLOTS];
    uint64_t total;        /* events added over the encoder's life: positions in seen */
    uint64_t record_start; /* total at the first event of this record */
    uint32_t thread;
} capture_events_enc;

/* Compression starts off; point e->z at the file's stream after init to turn it on. */
void capture_events_init(capture_events_enc *e);
void capture_events_free(capture_events_enc *e);
/* node is a node id or UINT32_MAX (no Python stack); size and node are
 * ignored for frees, node for munmap. */
void capture_events_add(capture_events_enc *e, int kind, uint32_t thread, uint64_t seq, uint64_t addr,
                        uint64_t size, uint32_t node);
/* Bytes of the record under construction (before compression). */
size_t capture_events_pending(const capture_events_enc *e);
/* Appends the EVENTS record (nothing when empty) and resets e. */
void capture_events_end(capture_events_enc *e, buf *out);

#endif
