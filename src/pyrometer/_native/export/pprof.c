/* pprof.c — the pprof profile.proto format, gzipped, as `go tool pprof`
 * reads it. Protobuf is hand-encoded (varints and length-delimited fields
 * are all profile.proto needs); gzip comes from zlib.
 *
 * - string_table reuses the profile's string ids (id 0 is "" in both), and
 *   appends the few fixed strings after them.
 * - Function id = profile function index + 1; one Mapping (id 1) says
 *   functions, file names and lines are present, so pprof never symbolizes.
 * - Location = a distinct (function, line) pair among stack nodes.
 * - Sample = a distinct (stack, thread) pair, locations leaf first, with a
 *   numeric label "thread_id". Values: CPU profiles `samples/count` (sampling
 *   periods: a sample's weight, > 1 when the sampler fell behind) and
 *   `cpu/nanoseconds` (periods × period); memory profiles `space/bytes`. */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* profile.proto field numbers. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_NUM = 3,
    MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4, FUNCTION_START_LINE = 5,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* Strings pprof needs beyond the profile's own, indexed after them. */
enum { XS_SAMPLES, XS_COUNT, XS_CPU, XS_NANOSECONDS, XS_SPACE, XS_BYTES, XS_THREAD_ID, XS_UNKNOWN, XS_MAPPING, XS_N };
static const char *const extra_strings[XS_N] = {
    "samples", "count", "cpu", "nanoseconds", "space", "bytes", "thread_id", "<unknown>", "python",
};

static void put_key(buf *b, uint32_t field, int wire)
{
    buf_put_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

static void put_uint(buf *b, uint32_t field, uint64_t v)
{
    if (v == 0)
        return; /* proto3 default: omitted */
    put_key(b, field, WIRE_VARINT);
    buf_put_varint(b, v);
}

static void put_int(buf *b, uint32_t field, int64_t v)
{
    put_uint(b, field, (uint64_t)v);
}

/* Appends `field` as a length-delimited copy of `msg`'s bytes. */
static void put_message(buf *b, uint32_t field, const buf *msg)
{
    put_key(b, field, WIRE_LEN);
    buf_put_varint(b, msg->len);
    buf_append(b, msg->data, msg->len);
    if (msg->failed)
        b->failed = 1;
}

static void put_bytes(buf *b, uint32_t field, const char *s, size_t len)
{
    put_key(b, field, WIRE_LEN);
    buf_put_varint(b, len);
    buf_append(b, s, len);
}

static void put_value_type(buf *b, uint32_t field, uint64_t type, uint64_t unit, buf *tmp)
{
    tmp->len = 0;
    put_uint(tmp, VALUE_TYPE_TYPE, type);
    put_uint(tmp, VALUE_TYPE_UNIT, unit);
    put_message(b, field, tmp);
}

/* Gzips `in` onto the end of `out`. 0, or -1 with err set. */
static int gzip_append(const buf *in, buf *out, prof_error *err)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return prof_error_set(err, -1, "zlib: cannot start compression");
    size_t bound = deflateBound(&z, (uLong)in->len) + 64;
    if (buf_reserve(out, bound) < 0) {
        deflateEnd(&z);
        return prof_error_nomem(err);
    }
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        return prof_error_set(err, -1, "zlib: compression failed (%d)", rc);
    out->len += produced;
    return 0;
}

int export_pprof(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    int memory = export_is_memory(p);
    int64_t period_ns = export_period_us(p) * 1000;
    uint64_t xs = p->string_count; /* id of extra_strings[0] */
    export_pairs locations, samples;
    export_pairs_init(&locations);
    export_pairs_init(&samples);
    buf msg, tmp, sub, packed;
    buf_init(&msg);
    buf_init(&tmp);
    buf_init(&sub);
    buf_init(&packed);
    uint32_t *node_location = malloc((p->node_count ? p->node_count : 1) * sizeof(uint32_t));
    int64_t *sample_weight = NULL, *sample_count = NULL;
    int rc = -1;
    if (node_location == NULL)
        goto nomem;

    /* Locations: one per distinct (function, line); node ids are parent first. */
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        int32_t line = n->line > 0 ? n->line : p->functions[n->function].first_line;
        uint32_t id = export_pairs_intern(&locations, n->function, (uint32_t)(line > 0 ? line : 0));
        if (id == PROF_NONE)
            goto nomem;
        node_location[i] = id + 1;
    }
    /* Samples: weights and counts per distinct (stack, thread). */
    size_t sample_cap = 0;
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (opts->thread != PROF_NONE && s->thread != opts->thread)
            continue;
        uint32_t before = samples.count;
        uint32_t id = export_pairs_intern(&samples, s->stack, s->thread);
        if (id == PROF_NONE)
            goto nomem;
        if (id >= sample_cap) {
            size_t cap = sample_cap ? sample_cap * 2 : 256;
            int64_t *w = realloc(sample_weight, cap * sizeof(int64_t));
            if (w == NULL)
                goto nomem;
            sample_weight = w;
            int64_t *c = realloc(sample_count, cap * sizeof(int64_t));
            if (c == NULL)
                goto nomem;
            sample_count = c;
            sample_cap = cap;
        }
        if (id == before) {
            sample_weight[id] = 0;
            sample_count[id] = 0;
        }
        sample_weight[id] += s->weight;
        sample_count[id]++;
    }

    /* Header: sample types, then the samples. */
    if (memory) {
        put_value_type(&msg, PROFILE_SAMPLE_TYPE, xs + XS_SPACE, xs + XS_BYTES, &tmp);
    } else {
        put_value_type(&msg, PROFILE_SAMPLE_TYPE, xs + XS_SAMPLES, xs + XS_COUNT, &tmp);
        put_value_type(&msg, PROFILE_SAMPLE_TYPE, xs + XS_CPU, xs + XS_NANOSECONDS, &tmp);
    }
    for (uint32_t i = 0; i < samples.count; i++) {
        tmp.len = 0;
        packed.len = 0;
        for (uint32_t n = (uint32_t)samples.a[i]; n != PROF_NO_PARENT; n = p->nodes[n].parent)
            buf_put_varint(&packed, node_location[n]);
        put_message(&tmp, SAMPLE_LOCATION_ID, &packed);
        packed.len = 0;
        if (memory) {
            buf_put_varint(&packed, (uint64_t)sample_weight[i]);
        } else {
            buf_put_varint(&packed, (uint64_t)sample_weight[i]);
            int64_t ns; /* saturate: weights x period can exceed int64 on hostile input */
            if (__builtin_mul_overflow(sample_weight[i], period_ns, &ns))
                ns = INT64_MAX;
            buf_put_varint(&packed, (uint64_t)ns);
        }
        put_message(&tmp, SAMPLE_VALUE, &packed);
        sub.len = 0;
        put_uint(&sub, LABEL_KEY, xs + XS_THREAD_ID);
        put_key(&sub, LABEL_NUM, WIRE_VARINT); /* written even when 0 */
        buf_put_varint(&sub, p->threads[samples.b[i]].id);
        put_message(&tmp, SAMPLE_LABEL, &sub);
        put_message(&msg, PROFILE_SAMPLE, &tmp);
    }
    /* The one mapping: everything is already symbolized. */
    tmp.len = 0;
    put_uint(&tmp, MAPPING_ID, 1);
    put_uint(&tmp, MAPPING_FILENAME, xs + XS_MAPPING);
    put_uint(&tmp, MAPPING_HAS_FUNCTIONS, 1);
    put_uint(&tmp, MAPPING_HAS_FILENAMES, 1);
    put_uint(&tmp, MAPPING_HAS_LINE_NUMBERS, 1);
    put_message(&msg, PROFILE_MAPPING, &tmp);
    for (uint32_t i = 0; i < locations.count; i++) {
        tmp.len = 0;
        put_uint(&tmp, LOCATION_ID, (uint64_t)i + 1);
        put_uint(&tmp, LOCATION_MAPPING_ID, 1);
        sub.len = 0;
        put_uint(&sub, LINE_FUNCTION_ID, locations.a[i] + 1);
        put_uint(&sub, LINE_LINE, locations.b[i]);
        put_message(&tmp, LOCATION_LINE, &sub);
        put_message(&msg, PROFILE_LOCATION, &tmp);
    }
    /* pprof shortens names as if they were C++ templates, dropping what is
     * in <...>, so "<module>" would show as "[python]". Such names get a
     * display name with ‹› (appended to the string table after the extra
     * strings); system_name keeps the real one. */
    buf display;
    buf_init(&display);
    uint64_t display_count = 0;
    for (uint32_t i = 0; i < p->function_count; i++) {
        const prof_function *f = &p->functions[i];
        uint64_t name = f->name != 0 ? f->name : xs + XS_UNKNOWN;
        uint64_t shown = name;
        const char *text = profile_string(p, f->name);
        if (f->name != 0 && strpbrk(text, "<>") != NULL) {
            for (const char *c = text; *c; c++) {
                if (*c == '<')
                    buf_puts(&display, "\u2039");
                else if (*c == '>')
                    buf_puts(&display, "\u203a");
                else
                    buf_putc(&display, *c);
            }
            buf_putc(&display, '\0');
            shown = xs + XS_N + display_count++;
        }
        tmp.len = 0;
        put_uint(&tmp, FUNCTION_ID, (uint64_t)i + 1);
        put_uint(&tmp, FUNCTION_NAME, shown);
        put_uint(&tmp, FUNCTION_SYSTEM_NAME, name);
        put_uint(&tmp, FUNCTION_FILENAME, f->file);
        put_int(&tmp, FUNCTION_START_LINE, f->first_line > 0 ? f->first_line : 0);
        put_message(&msg, PROFILE_FUNCTION, &tmp);
    }
    for (uint32_t i = 0; i < p->string_count; i++)
        put_bytes(&msg, PROFILE_STRING_TABLE, p->strings[i], p->string_lengths[i]);
    for (int i = 0; i < XS_N; i++)
        put_bytes(&msg, PROFILE_STRING_TABLE, extra_strings[i], strlen(extra_strings[i]));
    for (size_t off = 0; off < display.len;) {
        size_t len = strlen(display.data + off);
        put_bytes(&msg, PROFILE_STRING_TABLE, display.data + off, len);
        off += len + 1;
    }
    int display_failed = display.failed;
    buf_free(&display);
    /* Times come from the file: one that does not fit in ns is left out. */
    int64_t nanos;
    if (p->start_time_us > 0 && !__builtin_mul_overflow(p->start_time_us, 1000, &nanos))
        put_int(&msg, PROFILE_TIME_NANOS, nanos);
    if (p->start_time_us > 0 && p->end_time_us > p->start_time_us &&
        !__builtin_mul_overflow(p->end_time_us - p->start_time_us, 1000, &nanos))
        put_int(&msg, PROFILE_DURATION_NANOS, nanos);
    if (memory) {
        put_value_type(&msg, PROFILE_PERIOD_TYPE, xs + XS_SPACE, xs + XS_BYTES, &tmp);
    } else {
        put_value_type(&msg, PROFILE_PERIOD_TYPE, xs + XS_CPU, xs + XS_NANOSECONDS, &tmp);
        put_int(&msg, PROFILE_PERIOD, period_ns);
    }
    if (msg.failed || tmp.failed || sub.failed || packed.failed || display_failed)
        goto nomem;
    rc = gzip_append(&msg, out, err);
    goto done;
nomem:
    prof_error_nomem(err);
done:
    export_pairs_free(&locations);
    export_pairs_free(&samples);
    buf_free(&msg);
    buf_free(&tmp);
    buf_free(&sub);
    buf_free(&packed);
    free(node_location);
    free(sample_weight);
    free(sample_count);
    return rc;
}
