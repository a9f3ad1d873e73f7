/* capture_write.c — the capture file encoder. See capture_format.h. */
#include "format/capture_write.h"

#include <string.h>

#include <zlib.h>

const char *capture_kind_name(int kind)
{
    static const char *const names[CAPTURE_KIND_COUNT] = {
        "?", "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "valloc",
        "pvalloc", "mmap", "pymalloc_malloc", "pymalloc_calloc", "pymalloc_realloc", "free", "munmap",
        "pymalloc_free",
    };
    return capture_kind_valid(kind) ? names[kind] : "?";
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void put_record(buf *b, int type, const buf *payload)
{
    buf_putc(b, (char)type);
    buf_put_varint(b, payload->len);
    buf_append(b, payload->data, payload->len);
}

static void put_str(buf *b, const char *s, size_t len)
{
    buf_put_varint(b, len);
    buf_append(b, s, len);
}

void capture_write_begin(buf *b, uint64_t start_time_us, uint64_t pid, uint64_t flags,
                         const char *const *keys, const char *const *values, size_t pairs)
{
    buf_append(b, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN);
    buf_putc(b, (char)CAPTURE_VERSION);
    buf p;
    buf_init(&p);
    buf_put_varint(&p, start_time_us);
    buf_put_varint(&p, pid);
    buf_put_varint(&p, flags);
    buf_put_varint(&p, pairs);
    for (size_t i = 0; i < pairs; i++) {
        put_str(&p, keys[i], strlen(keys[i]));
        put_str(&p, values[i], strlen(values[i]));
    }
    if (p.failed)
        b->failed = 1;
    put_record(b, CAPTURE_REC_HEADER, &p);
    buf_free(&p);
}

/* Small records are encoded on the stack: no allocation per record. */
#define SMALL_RECORD(type, body)                       \
    do {                                               \
        uint8_t tmp_[64];                              \
        buf p_ = {(char *)tmp_, 0, sizeof tmp_, 0};    \
        body;                                          \
        put_record(b, (type), &p_);                    \
    } while (0)

void capture_write_string(buf *b, const char *s, size_t len)
{
    buf_putc(b, (char)CAPTURE_REC_STRING);
    buf_put_varint(b, len);
    buf_append(b, s, len);
}

/* buf_put_varint into a fixed stack buffer: 64 bytes always suffice for the
 * few varints of these records, so buf_reserve never needs to grow it. */
void capture_write_function(buf *b, uint32_t name, uint32_t file, int32_t first_line, int kind)
{
    SMALL_RECORD(CAPTURE_REC_FUNCTION, {
        buf_put_varint(&p_, name);
        buf_put_varint(&p_, file);
        buf_put_varint(&p_, zigzag(first_line));
        buf_putc(&p_, (char)kind);
    });
}

void capture_write_thread(buf *b, uint64_t os_tid, uint32_t name)
{
    SMALL_RECORD(CAPTURE_REC_THREAD, {
        buf_put_varint(&p_, os_tid);
        buf_put_varint(&p_, name);
    });
}

void capture_write_rss(buf *b, uint64_t time_us, uint64_t seq, uint64_t rss_bytes)
{
    SMALL_RECORD(CAPTURE_REC_RSS, {
        buf_put_varint(&p_, time_us);
        buf_put_varint(&p_, seq);
        buf_put_varint(&p_, rss_bytes);
    });
}

void capture_write_trailer(buf *b, uint64_t end_time_us, uint64_t events, uint64_t dropped)
{
    SMALL_RECORD(CAPTURE_REC_TRAILER, {
        buf_put_varint(&p_, end_time_us);
        buf_put_varint(&p_, events);
        buf_put_varint(&p_, dropped);
    });
}

void capture_write_aggregate(buf *b, const capture_aggregate_row *rows, size_t n)
{
    buf p;
    buf_init(&p);
    buf_put_varint(&p, n);
    for (size_t i = 0; i < n; i++) {
        buf_put_varint(&p, rows[i].node == UINT32_MAX ? 0 : (uint64_t)rows[i].node + 1);
        buf_put_varint(&p, rows[i].peak_bytes);
        buf_put_varint(&p, rows[i].peak_count);
        buf_put_varint(&p, rows[i].exit_bytes);
        buf_put_varint(&p, rows[i].exit_count);
        buf_put_varint(&p, rows[i].total_bytes);
        buf_put_varint(&p, rows[i].total_count);
    }
    if (p.failed)
        b->failed = 1;
    put_record(b, CAPTURE_REC_AGGREGATE, &p);
    buf_free(&p);
}

/* ---- the file's deflate stream ---- */

int capture_deflate_init(capture_deflate *d, int level)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->packed);
    /* raw deflate (negative window bits): no zlib header or checksum, the
     * pieces are framed by records; memLevel 8 is zlib's default. */
    if (deflateInit2(&d->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    d->ready = 1;
    return 0;
}

void capture_deflate_free(capture_deflate *d)
{
    if (d->ready)
        deflateEnd(&d->z);
    d->ready = 0;
    buf_free(&d->packed);
}

/* Appends a `type` record holding varint raw length + the next piece of the
 * stream for parts[0..n). 0, or -1 with nothing appended (the caller writes
 * the plain record). A failed call also ends compression for the file: the
 * stream's state may no longer match what a reader has seen. */
static int deflate_record(capture_deflate *d, buf *out, int type, const buf *const *parts, int n)
{
    if (d == NULL || !d->ready)
        return -1;
    size_t raw_len = 0;
    for (int i = 0; i < n; i++)
        raw_len += parts[i]->len;
    d->packed.len = 0;
    for (int i = 0; i < n; i++) {
        const buf *p = parts[i];
        d->z.next_in = (Bytef *)p->data;
        d->z.avail_in = (uInt)p->len;
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        do {
            /* deflateBound-like headroom: a sync flush needs a few bytes even for no input */
            if (buf_reserve(&d->packed, p->len / 2 + 64) < 0)
                goto broken;
            d->z.next_out = (Bytef *)d->packed.data + d->packed.len;
            d->z.avail_out = (uInt)(d->packed.cap - d->packed.len);
            size_t room = d->z.avail_out;
            if (deflate(&d->z, flush) == Z_STREAM_ERROR)
                goto broken;
            d->packed.len += room - d->z.avail_out;
        } while (d->z.avail_in > 0 || d->z.avail_out == 0);
    }
    /* the sync flush's empty stored block ends in 00 00 ff ff: left out */
    if (d->packed.len < 4 || memcmp(d->packed.data + d->packed.len - 4, "\x00\x00\xff\xff", 4) != 0)
        goto broken;
    size_t zlen = d->packed.len - 4;
    uint8_t lenbuf[10];
    buf l = {(char *)lenbuf, 0, sizeof lenbuf, 0};
    buf_put_varint(&l, raw_len);
    buf_putc(out, (char)type);
    buf_put_varint(out, l.len + zlen);
    buf_append(out, l.data, l.len);
    buf_append(out, d->packed.data, zlen);
    return 0;
broken:
    deflateEnd(&d->z);
    d->ready = 0;
    return -1;
}

/* ---- stack tables ---- */

/* Pending tables are ended at this size, far below CAPTURE_MAX_RECORD. */
#define TABLES_SPLIT (8u << 20)

void capture_tables_init(capture_tables_enc *t)
{
    memset(t, 0, sizeof *t);
    buf_init(&t->raw);
    buf_init(&t->nodes);
}

void capture_tables_free(capture_tables_enc *t)
{
    buf_free(&t->raw);
    buf_free(&t->nodes);
}

/* Closes the open NODES record into raw. */
static void close_nodes(capture_tables_enc *t)
{
    if (t->open_nodes == 0)
        return;
    uint8_t head[10];
    buf h = {(char *)head, 0, sizeof head, 0};
    buf_put_varint(&h, t->open_nodes);
    buf_putc(&t->raw, (char)CAPTURE_REC_NODES);
    buf_put_varint(&t->raw, h.len + t->nodes.len);
    buf_append(&t->raw, h.data, h.len);
    buf_append(&t->raw, t->nodes.data, t->nodes.len);
    if (t->nodes.failed)
        t->raw.failed = 1;
    t->nodes.len = 0;
    t->nodes.failed = 0;
    t->open_nodes = 0;
    t->prev_function = 0;
}

static void maybe_split(capture_tables_enc *t, buf *out)
{
    if (t->raw.len + t->nodes.len >= TABLES_SPLIT)
        capture_tables_end(t, out);
}

void capture_tables_string(capture_tables_enc *t, buf *out, const char *s, size_t len)
{
    close_nodes(t);
    capture_write_string(&t->raw, s, len);
    maybe_split(t, out);
}

void capture_tables_function(capture_tables_enc *t, buf *out, uint32_t name, uint32_t file, int32_t first_line,
                             int kind)
{
    close_nodes(t);
    capture_write_function(&t->raw, name, file, first_line, kind);
    maybe_split(t, out);
}

void capture_tables_thread(capture_tables_enc *t, buf *out, uint64_t os_tid, uint32_t name)
{
    close_nodes(t);
    capture_write_thread(&t->raw, os_tid, name);
    maybe_split(t, out);
}

void capture_tables_node(capture_tables_enc *t, buf *out, uint32_t parent, uint32_t function, int32_t line)
{
    /* A new stack is a chain of new nodes, each the child of the one
     * before: distance 1. Native frames seen for the first time get
     * consecutive function ids: delta 1. */
    buf_put_varint(&t->nodes, parent == UINT32_MAX ? 0 : (uint64_t)(t->next_node - parent));
    buf_put_varint(&t->nodes, zigzag((int64_t)function - (int64_t)t->prev_function));
    buf_put_varint(&t->nodes, zigzag(line));
    t->prev_function = function;
    t->open_nodes++;
    t->next_node++;
    maybe_split(t, out);
}

void capture_tables_end(capture_tables_enc *t, buf *out)
{
    close_nodes(t);
    if (t->raw.len == 0)
        return;
    const buf *parts[1] = {&t->raw};
    if (t->raw.failed || deflate_record(t->z, out, CAPTURE_REC_TABLES, parts, 1) < 0)
        buf_append(out, t->raw.data, t->raw.len);
    if (t->raw.failed)
        out->failed = 1;
    t->raw.len = 0;
    t->raw.failed = 0;
}

void capture_events_init(capture_events_enc *e)
{
    memset(e, 0, sizeof *e);
    buf_init(&e->heads);
    buf_init(&e->addrs);
    buf_init(&e->sizes);
    buf_init(&e->nodes);
    e->thread = UINT32_MAX;
}

void capture_events_free(capture_events_enc *e)
{
    buf_free(&e->heads);
    buf_free(&e->addrs);
    buf_free(&e->sizes);
    buf_free(&e->nodes);
}

/* The worst case of one event per column: 2 bytes and 2 varints of 10 bytes. */
#define MAX_COLUMN_BYTES 24

/* Room for one more event in every column: the common case inline. */
static inline int columns_reserve(capture_events_enc *e)
{
    buf *cols[4] = {&e->heads, &e->addrs, &e->sizes, &e->nodes};
    for (int i = 0; i < 4; i++)
        if (cols[i]->cap - cols[i]->len < MAX_COLUMN_BYTES && buf_reserve(cols[i], MAX_COLUMN_BYTES) < 0)
            return -1;
    return 0;
}

void capture_events_add(capture_events_enc *e, int kind, uint32_t thread, uint64_t seq, uint64_t addr,
                        uint64_t size, uint32_t node)
{
    if (columns_reserve(e) < 0)
        return;
    if (e->count == 0) {
        e->first_seq = seq;
        e->prev_seq = seq - 1;
        e->record_start = e->total;
    }
    int new_thread = thread != e->thread;
    int jump = seq != e->prev_seq + 1;
    /* The address of a recent event of this record, counting back from 1. */
    uint32_t ref = 0;
    uint32_t slot = (uint32_t)(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> 54) & (CAPTURE_SEEN_SLOTS - 1);
    uint64_t seen_at = e->seen[slot].pos;   /* position + 1; 0: empty slot */
    if (seen_at > e->record_start && e->seen[slot].addr == addr && e->total + 1 - seen_at <= CAPTURE_RECENT)
        ref = (uint32_t)(e->total + 1 - seen_at);
    e->seen[slot].addr = addr;
    e->seen[slot].pos = e->total + 1;
    uint8_t *h = (uint8_t *)e->heads.data + e->heads.len;
    if (new_thread || jump) {
        *h++ = (uint8_t)(((new_thread ? CAPTURE_EV_NEW_THREAD : 0) | (jump ? CAPTURE_EV_SEQ_JUMP : 0)) << 4);
        if (new_thread) {
            h = buf_encode_varint(h, thread);
            e->thread = thread;
        }
        if (jump)
            h = buf_encode_varint(h, zigzag((int64_t)(seq - (e->prev_seq + 1))));
    }
    int code;
    if (ref == 0)
        code = (addr & 15) ? CAPTURE_EV_NEW_UNALIGNED : CAPTURE_EV_NEW_ADDR;
    else
        code = ref <= CAPTURE_EV_REF_DIRECT ? (int)ref : CAPTURE_EV_REF_FAR;
    *h++ = (uint8_t)(kind | code << 4);
    if (code == CAPTURE_EV_REF_FAR)
        h = buf_encode_varint(h, ref - (CAPTURE_EV_REF_DIRECT + 1));
    e->heads.len = (size_t)((char *)h - e->heads.data);
    if (ref == 0) {
        uint8_t *a = (uint8_t *)e->addrs.data + e->addrs.len;
        a = buf_encode_varint(a, zigzag((int64_t)((addr >> 4) - (e->prev_addr >> 4))));
        if (code == CAPTURE_EV_NEW_UNALIGNED)
            *a++ = (uint8_t)(addr & 15);
        e->addrs.len = (size_t)((char *)a - e->addrs.data);
    }
    if (capture_kind_is_alloc(kind) || kind == CAPTURE_MUNMAP) {
        uint8_t *z = (uint8_t *)e->sizes.data + e->sizes.len;
        e->sizes.len = (size_t)((char *)buf_encode_varint(z, size) - e->sizes.data);
    }
    if (capture_kind_is_alloc(kind)) {
        uint64_t n = node == UINT32_MAX ? 0 : (uint64_t)node + 1;
        uint8_t *o = (uint8_t *)e->nodes.data + e->nodes.len;
        e->nodes.len = (size_t)((char *)buf_encode_varint(o, zigzag((int64_t)(n - e->prev_node))) - e->nodes.data);
        e->prev_node = n;
    }
    e->total++;
    e->prev_seq = seq;
    e->prev_addr = addr;
    e->count++;
}

size_t capture_events_pending(const capture_events_enc *e)
{
    return e->heads.len + e->addrs.len + e->sizes.len + e->nodes.len;
}

void capture_events_end(capture_events_enc *e, buf *out)
{
    if (e->count > 0) {
        uint8_t head[32];
        buf h = {(char *)head, 0, sizeof head, 0};
        buf_put_varint(&h, e->count);
        buf_put_varint(&h, e->first_seq);
        buf_put_varint(&h, e->heads.len);
        /* the lengths of addresses and sizes go between the columns */
        uint8_t lens[2][10];
        buf l1 = {(char *)lens[0], 0, sizeof lens[0], 0}, l2 = {(char *)lens[1], 0, sizeof lens[1], 0};
        buf_put_varint(&l1, e->addrs.len);
        buf_put_varint(&l2, e->sizes.len);
        const buf *parts[7] = {&h, &e->heads, &l1, &e->addrs, &l2, &e->sizes, &e->nodes};
        int failed = e->heads.failed || e->addrs.failed || e->sizes.failed || e->nodes.failed;
        if (failed || deflate_record(e->z, out, CAPTURE_REC_ZEVENTS, parts, 7) < 0) {
            size_t raw_len = 0;
            for (int i = 0; i < 7; i++)
                raw_len += parts[i]->len;
            buf_putc(out, (char)CAPTURE_REC_EVENTS);
            buf_put_varint(out, raw_len);
            for (int i = 0; i < 7; i++)
                buf_append(out, parts[i]->data, parts[i]->len);
        }
        if (failed)
            out->failed = 1;
    }
    buf *cols[4] = {&e->heads, &e->addrs, &e->sizes, &e->nodes};
    for (int i = 0; i < 4; i++) {
        cols[i]->len = 0;
        cols[i]->failed = 0;
    }
    e->count = 0;
    e->prev_addr = 0;
    e->prev_node = 0;
    e->thread = UINT32_MAX;
}
