/* capture_read.c — the capture file decoder. See capture_format.h. */
#include "format/capture_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

typedef struct cursor {
    const uint8_t *data;
    size_t pos, end;
} cursor;

/* 0, or -1 when the varint runs past end or over 10 bytes. */
static int get_varint(cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->pos >= c->end)
            return -1;
        uint8_t byte = c->data[c->pos++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

typedef struct reader {
    capture_data *c;
    prof_error *err;
    uint32_t *strings;     /* file string id -> profile string id */
    uint32_t string_count, string_cap;
    uint32_t *functions;
    uint32_t function_count, function_cap;
    uint32_t *nodes;
    uint32_t node_count, node_cap;
    uint32_t thread_count;
    z_stream z;            /* the file's deflate stream (capture_format.h) */
    int z_ready;
} reader;

static int push_id(uint32_t **items, uint32_t *count, uint32_t *cap, uint32_t id)
{
    if (*count >= CAPTURE_MAX_IDS)
        return -1;
    if (*count == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 256;
        uint32_t *n = realloc(*items, ncap * sizeof **items);
        if (n == NULL)
            return -1;
        *items = n;
        *cap = ncap;
    }
    (*items)[(*count)++] = id;
    return 0;
}

#define BAD(r, off, ...) prof_error_set((r)->err, (int64_t)(off), __VA_ARGS__)

static int read_header(reader *r, cursor *p, size_t off)
{
    capture_data *c = r->c;
    uint64_t start, pid, flags, pairs;
    if (get_varint(p, &start) || get_varint(p, &pid) || get_varint(p, &flags) || get_varint(p, &pairs))
        return BAD(r, off, "bad capture header at byte %zu", off);
    if (pairs > CAPTURE_MAX_HEADER_PAIRS)
        return BAD(r, off, "capture header has %llu entries (limit %d)", (unsigned long long)pairs,
                   CAPTURE_MAX_HEADER_PAIRS);
    c->prof.start_time_us = (int64_t)start;
    c->pid = pid;
    c->flags = flags;
    for (uint64_t i = 0; i < pairs; i++) {
        uint64_t klen, vlen;
        if (get_varint(p, &klen) || klen > p->end - p->pos)
            return BAD(r, off, "bad capture header entry at byte %zu", p->pos);
        const char *key = (const char *)p->data + p->pos;
        p->pos += klen;
        if (get_varint(p, &vlen) || vlen > p->end - p->pos)
            return BAD(r, off, "bad capture header entry at byte %zu", p->pos);
        const char *value = (const char *)p->data + p->pos;
        p->pos += vlen;
        char keybuf[128];
        if (klen >= sizeof keybuf)
            return BAD(r, off, "capture header key too long at byte %zu", off);
        memcpy(keybuf, key, klen);
        keybuf[klen] = '\0';
        if (profile_set_meta(&c->prof, keybuf, value, vlen) < 0)
            return prof_error_nomem(r->err);
    }
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%llu", (unsigned long long)pid);
    if (profile_set_meta(&c->prof, "pid", pidbuf, strlen(pidbuf)) < 0)
        return prof_error_nomem(r->err);
    static const char *const flag_names[] = {"native", "trace_python_allocators", "follow_fork", "aggregate"};
    char fl[128] = "";
    for (int i = 0; i < 4; i++) {
        if (flags & (1u << i)) {
            if (fl[0])
                strcat(fl, ",");
            strcat(fl, flag_names[i]);
        }
    }
    if (profile_set_meta(&c->prof, "flags", fl, strlen(fl)) < 0)
        return prof_error_nomem(r->err);
    return 0;
}

static int grow(void **items, size_t size, size_t count, size_t *cap)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 1024;
    void *n = realloc(*items, ncap * size);
    if (n == NULL)
        return -1;
    *items = n;
    *cap = ncap;
    return 0;
}

static int map_node(reader *r, uint64_t raw, uint32_t *out)
{
    if (raw == 0) {
        *out = PROF_NONE;
        return 0;
    }
    if (raw > r->node_count)
        return -1;
    *out = r->nodes[raw - 1];
    return 0;
}

/* Splits the next section (varint length, bytes) off p into *sec. */
static int take_section(cursor *p, cursor *sec)
{
    uint64_t len;
    if (get_varint(p, &len) || len > p->end - p->pos)
        return -1;
    *sec = (cursor){p->data, p->pos, p->pos + len};
    p->pos += len;
    return 0;
}

static int read_events(reader *r, cursor *p, size_t off)
{
    capture_data *c = r->c;
    uint64_t count, seq;
    cursor heads, addrs, sizes, nodes;
    if (get_varint(p, &count) || get_varint(p, &seq) || take_section(p, &heads) || take_section(p, &addrs) ||
        take_section(p, &sizes))
        return BAD(r, off, "bad events record at byte %zu", off);
    nodes = *p;
    if (count > heads.end - heads.pos)   /* every event has a head byte */
        return BAD(r, off, "events record at byte %zu claims %llu events", off, (unsigned long long)count);
    uint64_t prev_seq = seq - 1, prev_addr = 0, prev_node = 0;
    uint64_t recent[CAPTURE_RECENT];
    uint32_t recent_pos = 0;
    uint32_t thread = PROF_NONE;
    for (uint64_t i = 0; i < count; i++) {
        size_t ev_off = heads.pos;
        if (heads.pos >= heads.end)
            return BAD(r, off, "events record at byte %zu is cut short", off);
        uint8_t kb = heads.data[heads.pos++];
        uint64_t dseq = 0;
        if ((kb & CAPTURE_EV_KIND_MASK) == 0) {
            /* a prefix: new thread and/or a jump in sequence numbers */
            int flags = kb >> 4;
            if (flags == 0 || (flags & ~(CAPTURE_EV_NEW_THREAD | CAPTURE_EV_SEQ_JUMP)))
                return BAD(r, off, "bad event prefix in the events record at byte %zu", off);
            if (flags & CAPTURE_EV_NEW_THREAD) {
                uint64_t t;
                if (get_varint(&heads, &t) || t >= r->thread_count)
                    return BAD(r, off, "event in the record at byte %zu names an undefined thread", off);
                thread = (uint32_t)t;
            }
            if ((flags & CAPTURE_EV_SEQ_JUMP) && get_varint(&heads, &dseq))
                return BAD(r, off, "bad event in the record at byte %zu", off);
            if (heads.pos >= heads.end)
                return BAD(r, off, "events record at byte %zu is cut short", off);
            kb = heads.data[heads.pos++];
        }
        int kind = kb & CAPTURE_EV_KIND_MASK;
        int code = kb >> 4;
        if (!capture_kind_valid(kind))
            return BAD(r, off, "bad event kind %d in the record at byte %zu (offset %zu)", kind, off, ev_off);
        if (thread == PROF_NONE)
            return BAD(r, off, "event in the record at byte %zu has no thread", off);
        uint64_t addr, size = 0, node = 0;
        if (code == CAPTURE_EV_NEW_ADDR || code == CAPTURE_EV_NEW_UNALIGNED) {
            uint64_t daddr, low = 0;
            if (get_varint(&addrs, &daddr))
                return BAD(r, off, "bad event address in the record at byte %zu", off);
            if (code == CAPTURE_EV_NEW_UNALIGNED) {
                if (addrs.pos >= addrs.end || addrs.data[addrs.pos] > 15)
                    return BAD(r, off, "bad event address in the record at byte %zu", off);
                low = addrs.data[addrs.pos++];
            }
            addr = (((prev_addr >> 4) + (uint64_t)unzigzag(daddr)) << 4) | low;
        } else {
            uint64_t ref = (uint64_t)code;
            if (code == CAPTURE_EV_REF_FAR) {
                uint64_t more;
                if (get_varint(&heads, &more) || more > CAPTURE_RECENT)
                    return BAD(r, off, "bad event in the record at byte %zu", off);
                ref = CAPTURE_EV_REF_DIRECT + 1 + more;
            }
            if (ref > CAPTURE_RECENT || ref > recent_pos)
                return BAD(r, off, "event in the record at byte %zu refers back past its record", off);
            addr = recent[(recent_pos - ref) % CAPTURE_RECENT];
        }
        recent[recent_pos++ % CAPTURE_RECENT] = addr;
        if ((capture_kind_is_alloc(kind) || kind == CAPTURE_MUNMAP) && get_varint(&sizes, &size))
            return BAD(r, off, "bad event size in the record at byte %zu", off);
        if (capture_kind_is_alloc(kind)) {
            uint64_t dnode;
            if (get_varint(&nodes, &dnode))
                return BAD(r, off, "bad event stack in the record at byte %zu", off);
            node = prev_node + (uint64_t)unzigzag(dnode);
            prev_node = node;
        }
        capture_event ev;
        ev.seq = prev_seq + 1 + (uint64_t)unzigzag(dseq);
        ev.addr = addr;
        ev.size = size;
        ev.thread = thread;
        ev.kind = (uint8_t)kind;
        if (map_node(r, node, &ev.node) < 0)
            return BAD(r, off, "event in the record at byte %zu names an undefined stack", off);
        prev_seq = ev.seq;
        prev_addr = ev.addr;
        if (grow((void **)&c->events, sizeof *c->events, c->event_count, &c->event_cap) < 0)
            return prof_error_nomem(r->err);
        c->events[c->event_count++] = ev;
    }
    if (heads.pos != heads.end || addrs.pos != addrs.end || sizes.pos != sizes.end || nodes.pos != nodes.end)
        return BAD(r, off, "events record at byte %zu has stray bytes", off);
    return 0;
}

static int read_aggregate(reader *r, cursor *p, size_t off)
{
    capture_data *c = r->c;
    uint64_t count;
    if (get_varint(p, &count) || count > p->end - p->pos)
        return BAD(r, off, "bad aggregate record at byte %zu", off);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t node, v[6];
        if (get_varint(p, &node))
            return BAD(r, off, "bad aggregate record at byte %zu", off);
        for (int k = 0; k < 6; k++)
            if (get_varint(p, &v[k]))
                return BAD(r, off, "bad aggregate record at byte %zu", off);
        capture_aggregate_row row = {0, v[0], v[1], v[2], v[3], v[4], v[5]};
        if (map_node(r, node, &row.node) < 0)
            return BAD(r, off, "aggregate record at byte %zu names an undefined stack", off);
        if (grow((void **)&c->aggregate, sizeof *c->aggregate, c->aggregate_count, &c->aggregate_cap) < 0)
            return prof_error_nomem(r->err);
        c->aggregate[c->aggregate_count++] = row;
    }
    return 0;
}

/* Threads keep file order even when the OS reuses a thread id: each THREAD
 * record is a distinct thread. */
static int add_thread(reader *r, uint64_t tid, uint32_t name, size_t off)
{
    profile *prof = &r->c->prof;
    uint32_t idx = profile_intern_thread(prof, tid);
    if (idx == PROF_NONE)
        return prof_error_nomem(r->err);
    if (idx != prof->thread_count - 1 || idx != r->thread_count) {
        if (prof->thread_count == prof->thread_cap) {
            uint32_t ncap = prof->thread_cap ? prof->thread_cap * 2 : 16;
            prof_thread *n = realloc(prof->threads, ncap * sizeof *n);
            if (n == NULL)
                return prof_error_nomem(r->err);
            prof->threads = n;
            prof->thread_cap = ncap;
        }
        prof->threads[prof->thread_count] = (prof_thread){tid, 0};
        idx = prof->thread_count++;
    }
    if (idx != r->thread_count)
        return BAD(r, off, "thread table out of step at byte %zu", off);
    prof->threads[idx].name = name;
    r->thread_count++;
    return 0;
}

/* Inflates the next piece of the file's deflate stream (a TABLES or
 * ZEVENTS payload after its type) into a new buffer of its stated length.
 * 0, or -1 with the error set. */
static int inflate_piece(reader *r, cursor *p, size_t off, const char *what, uint8_t **out, size_t *out_len)
{
    uint64_t raw_len;
    if (get_varint(p, &raw_len) || raw_len == 0 || raw_len > CAPTURE_MAX_RECORD)
        return BAD(r, off, "bad compressed %s record at byte %zu", what, off);
    if (!r->z_ready) {
        memset(&r->z, 0, sizeof r->z);
        if (inflateInit2(&r->z, -15) != Z_OK)
            return prof_error_nomem(r->err);
        r->z_ready = 1;
    }
    uint8_t *raw = malloc(raw_len + 1);
    if (raw == NULL)
        return prof_error_nomem(r->err);
    /* the writer leaves out the sync flush's final 00 00 ff ff */
    static const uint8_t sync_tail[4] = {0, 0, 0xff, 0xff};
    r->z.next_out = raw;
    r->z.avail_out = (uInt)raw_len + 1;   /* one spare byte: more output than stated is an error */
    int ok = 1;
    for (int k = 0; k < 2 && ok; k++) {
        r->z.next_in = (Bytef *)(k == 0 ? p->data + p->pos : sync_tail);
        r->z.avail_in = (uInt)(k == 0 ? p->end - p->pos : sizeof sync_tail);
        while (r->z.avail_in > 0) {
            int zrc = inflate(&r->z, Z_SYNC_FLUSH);
            if (zrc == Z_MEM_ERROR) {
                free(raw);
                return prof_error_nomem(r->err);
            }
            if (zrc != Z_OK) {   /* corrupt data, a final block, or more output than stated */
                ok = 0;
                break;
            }
        }
    }
    if (!ok || r->z.avail_out != 1) {
        free(raw);
        return BAD(r, off, "corrupt compressed %s record at byte %zu", what, off);
    }
    *out = raw;
    *out_len = raw_len;
    return 0;
}

static int read_nodes(reader *r, cursor *p, size_t off)
{
    profile *prof = &r->c->prof;
    uint64_t count;
    if (get_varint(p, &count) || count > (p->end - p->pos) / 3)   /* 3 bytes at least per node */
        return BAD(r, off, "bad stack record at byte %zu", off);
    uint64_t prev_function = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t dist, dfunc, line;
        if (get_varint(p, &dist) || get_varint(p, &dfunc) || get_varint(p, &line))
            return BAD(r, off, "bad stack record at byte %zu", off);
        uint64_t function = prev_function + (uint64_t)unzigzag(dfunc);
        if (dist > r->node_count || function >= r->function_count)
            return BAD(r, off, "stack record at byte %zu refers to an undefined stack or function", off);
        prev_function = function;
        uint32_t parent = dist == 0 ? PROF_NO_PARENT : r->nodes[r->node_count - dist];
        if (parent != PROF_NO_PARENT && prof->nodes[parent].depth >= CAPTURE_MAX_DEPTH)
            return BAD(r, off, "stack deeper than %d frames at byte %zu", CAPTURE_MAX_DEPTH, off);
        uint32_t id = profile_intern_node(prof, parent, r->functions[function], (int32_t)unzigzag(line));
        if (id == PROF_NONE || push_id(&r->nodes, &r->node_count, &r->node_cap, id) < 0)
            return prof_error_nomem(r->err);
    }
    if (p->pos != p->end)
        return BAD(r, off, "stack record at byte %zu has %zu stray bytes", off, p->end - p->pos);
    return 0;
}

static int read_record(reader *r, int type, cursor *p, size_t off);

/* A TABLES record: its deflated records are read as if they stood in the
 * file here. Errors name the TABLES record's offset. */
static int read_tables(reader *r, cursor *p, size_t off)
{
    uint8_t *raw;
    size_t raw_len;
    if (inflate_piece(r, p, off, "tables", &raw, &raw_len) < 0)
        return -1;
    cursor c = {raw, 0, raw_len};
    int rc = 0;
    while (rc == 0 && c.pos < c.end) {
        int type = c.data[c.pos++];
        uint64_t plen;
        if (type != CAPTURE_REC_STRING && type != CAPTURE_REC_FUNCTION && type != CAPTURE_REC_NODES &&
            type != CAPTURE_REC_THREAD) {
            rc = BAD(r, off, "record type 0x%02x inside the tables record at byte %zu", type, off);
            break;
        }
        if (get_varint(&c, &plen) || plen > c.end - c.pos) {
            rc = BAD(r, off, "tables record at byte %zu holds a record cut short", off);
            break;
        }
        cursor q = {raw, c.pos, c.pos + plen};
        c.pos += plen;
        rc = read_record(r, type, &q, off);
    }
    free(raw);
    return rc;
}

static int read_record(reader *r, int type, cursor *p, size_t off)
{
    capture_data *c = r->c;
    profile *prof = &c->prof;
    uint64_t a, b, d;
    switch (type) {
    case CAPTURE_REC_STRING: {
        size_t len = p->end - p->pos;
        if (len > CAPTURE_MAX_STRING)
            return BAD(r, off, "string of %zu bytes at byte %zu (limit %u)", len, off, CAPTURE_MAX_STRING);
        uint32_t id = profile_intern_string(prof, (const char *)p->data + p->pos, len);
        if (id == PROF_NONE || push_id(&r->strings, &r->string_count, &r->string_cap, id) < 0)
            return prof_error_nomem(r->err);
        return 0;
    }
    case CAPTURE_REC_FUNCTION: {
        if (get_varint(p, &a) || get_varint(p, &b) || get_varint(p, &d) || p->pos >= p->end)
            return BAD(r, off, "bad function record at byte %zu", off);
        int kind = p->data[p->pos];
        if (a >= r->string_count || b >= r->string_count || kind > PROF_FRAME_MARKER)
            return BAD(r, off, "function record at byte %zu names an undefined string", off);
        uint32_t id = profile_intern_function(prof, r->strings[a], r->strings[b], (int32_t)unzigzag(d),
                                              (prof_frame_kind)kind);
        if (id == PROF_NONE || push_id(&r->functions, &r->function_count, &r->function_cap, id) < 0)
            return prof_error_nomem(r->err);
        return 0;
    }
    case CAPTURE_REC_NODES:
        return read_nodes(r, p, off);
    case CAPTURE_REC_THREAD:
        if (get_varint(p, &a) || get_varint(p, &b) || b >= r->string_count)
            return BAD(r, off, "bad thread record at byte %zu", off);
        if (r->thread_count >= CAPTURE_MAX_IDS)
            return BAD(r, off, "too many threads at byte %zu", off);
        return add_thread(r, a, r->strings[b], off);
    case CAPTURE_REC_TABLES:
        return read_tables(r, p, off);
    case CAPTURE_REC_EVENTS:
        return read_events(r, p, off);
    case CAPTURE_REC_ZEVENTS: {
        uint8_t *raw;
        size_t raw_len;
        if (inflate_piece(r, p, off, "events", &raw, &raw_len) < 0)
            return -1;
        cursor q = {raw, 0, raw_len};
        int rc = read_events(r, &q, off);
        free(raw);
        return rc;
    }
    case CAPTURE_REC_RSS:
        if (get_varint(p, &a) || get_varint(p, &b) || get_varint(p, &d))
            return BAD(r, off, "bad RSS record at byte %zu", off);
        if (grow((void **)&c->rss, sizeof *c->rss, c->rss_count, &c->rss_cap) < 0)
            return prof_error_nomem(r->err);
        c->rss[c->rss_count++] = (capture_rss_point){(int64_t)a, b, (int64_t)d};
        return 0;
    case CAPTURE_REC_AGGREGATE:
        return read_aggregate(r, p, off);
    case CAPTURE_REC_TRAILER:
        if (get_varint(p, &a) || get_varint(p, &b) || get_varint(p, &d))
            return BAD(r, off, "bad trailer at byte %zu", off);
        prof->end_time_us = (int64_t)a;
        c->dropped = d;
        prof->dropped = d;
        c->complete = 1;
        return 0;
    case CAPTURE_REC_HEADER:
        return BAD(r, off, "second capture header at byte %zu", off);
    default:
        return 0; /* an unknown record type from a newer writer: skipped */
    }
}

static void capture_data_init(capture_data *c)
{
    memset(c, 0, sizeof *c);
}

void capture_data_free(capture_data *c)
{
    profile_free(&c->prof);
    free(c->events);
    free(c->rss);
    free(c->aggregate);
    capture_data_init(c);   /* freeing twice is harmless: everything is NULL now */
}

int capture_read_buffer(const uint8_t *data, size_t len, capture_data *out, prof_error *err)
{
    capture_data_init(out);
    if (profile_init(&out->prof) < 0)
        return prof_error_nomem(err);
    out->prof.value_unit = "bytes";
    out->prof.period_us = 0;
    snprintf(out->prof.interpreter, sizeof out->prof.interpreter, "cpython");
    if (len < CAPTURE_MAGIC_LEN || memcmp(data, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN) != 0)
        return prof_error_set(err, 0, "not an allocation capture (bad magic)");
    if (len < CAPTURE_MAGIC_LEN + 1)
        return prof_error_set(err, (int64_t)len, "truncated capture: no version byte");
    int version = data[CAPTURE_MAGIC_LEN];
    if (version < CAPTURE_VERSION)
        return prof_error_set(err, CAPTURE_MAGIC_LEN,
                              "capture format version %d is from an older pyrometer; this one reads version %d "
                              "(record the program again)", version, CAPTURE_VERSION);
    if (version > CAPTURE_VERSION)
        return prof_error_set(err, CAPTURE_MAGIC_LEN,
                              "capture format version %d is from a newer pyrometer; this one reads version %d",
                              version, CAPTURE_VERSION);
    out->prof.format_version = version;
    reader r = {out, err};
    uint32_t zero = 0;
    int rc = push_id(&r.strings, &r.string_count, &r.string_cap, zero);
    cursor c = {data, CAPTURE_MAGIC_LEN + 1, len};
    int saw_header = 0;
    while (rc == 0 && c.pos < c.end) {
        size_t off = c.pos;
        int type = c.data[c.pos++];
        uint64_t plen;
        if (type < 'A' || type > 'Z') {
            rc = prof_error_set(err, (int64_t)off, "bad record type 0x%02x at byte %zu", type, off);
            break;
        }
        if (get_varint(&c, &plen) || plen > c.end - c.pos) {
            rc = prof_error_set(err, (int64_t)off, "truncated capture: record at byte %zu is cut short", off);
            break;
        }
        if (plen > CAPTURE_MAX_RECORD) {
            rc = prof_error_set(err, (int64_t)off, "record of %llu bytes at byte %zu (limit %u)",
                                (unsigned long long)plen, off, CAPTURE_MAX_RECORD);
            break;
        }
        cursor p = {data, c.pos, c.pos + plen};
        c.pos += plen;
        if (!saw_header) {
            if (type != CAPTURE_REC_HEADER) {
                rc = prof_error_set(err, (int64_t)off, "capture has no header (record 0x%02x at byte %zu)", type, off);
                break;
            }
            rc = read_header(&r, &p, off);
            saw_header = 1;
            continue;
        }
        if (out->complete) {
            rc = prof_error_set(err, (int64_t)off, "record after the trailer at byte %zu", off);
            break;
        }
        rc = read_record(&r, type, &p, off);
    }
    if (rc == 0 && !saw_header)
        rc = prof_error_set(err, (int64_t)len, "truncated capture: no header");
    if (rc == 0 && !out->complete)
        snprintf(out->prof.warning, sizeof out->prof.warning,
                 "capture has no trailer (the process was killed?): read up to byte %zu", len);
    if (rc == 0 && out->dropped)
        out->prof.dropped = out->dropped;
    free(r.strings);
    free(r.functions);
    free(r.nodes);
    if (r.z_ready)
        inflateEnd(&r.z);
    return rc;
}

int capture_read_file(const char *path, capture_data *out, prof_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        capture_data_init(out);
        profile_init(&out->prof);
        return prof_error_set(err, -1, "%s", strerror(errno));
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            uint8_t *n = realloc(data, ncap);
            if (n == NULL) {
                free(data);
                fclose(f);
                capture_data_init(out);
                profile_init(&out->prof);
                return prof_error_nomem(err);
            }
            data = n;
            cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        capture_data_init(out);
        profile_init(&out->prof);
        return prof_error_set(err, -1, "read error");
    }
    int rc = capture_read_buffer(data, len, out, err);
    free(data);
    return rc;
}
