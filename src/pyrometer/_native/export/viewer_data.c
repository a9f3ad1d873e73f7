#include "export/viewer_data.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 when the
 * bytes there are not one (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A profile string as a JSON literal. Names come from untrusted files, so
 * bytes that are not UTF-8 are replaced rather than passed to the browser. */
static void put_text(buf *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence(u + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len) {
        buf_put_json_string(out, s, len);
        return;
    }
    buf clean;
    buf_init(&clean);
    buf_append(&clean, s, i);
    while (i < len) {
        size_t n = utf8_sequence(u + i, len - i);
        if (n == 0) {
            buf_append(&clean, "\xef\xbf\xbd", 3);
            i++;
        } else {
            buf_append(&clean, s + i, n);
            i += n;
        }
    }
    if (buf_ok(&clean) < 0)
        out->failed = 1;
    else
        buf_put_json_string(out, clean.data, clean.len);
    buf_free(&clean);
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Dense renumbering of the strings, functions and nodes the samples reach. */
typedef struct renumber {
    uint32_t *node_id;      /* profile node -> shipped id, PROF_NONE when unused */
    uint32_t *function_id;
    uint32_t *string_id;
    uint32_t *strings;      /* shipped id -> profile string, in order */
    uint32_t *functions;
    uint32_t string_count, function_count, node_count;
} renumber;

static void renumber_free(renumber *r)
{
    free(r->node_id);
    free(r->function_id);
    free(r->string_id);
    free(r->strings);
    free(r->functions);
}

static void use_string(renumber *r, uint32_t s)
{
    if (r->string_id[s] == PROF_NONE) {
        r->string_id[s] = r->string_count;
        r->strings[r->string_count++] = s;
    }
}

static int renumber_build(renumber *r, const profile *p)
{
    memset(r, 0, sizeof(*r));
    size_t nodes = p->node_count ? p->node_count : 1;
    size_t functions = p->function_count ? p->function_count : 1;
    size_t strings = p->string_count ? p->string_count : 1;
    r->node_id = malloc(nodes * sizeof(uint32_t));
    r->function_id = malloc(functions * sizeof(uint32_t));
    r->string_id = malloc(strings * sizeof(uint32_t));
    r->strings = malloc(strings * sizeof(uint32_t));
    r->functions = malloc(functions * sizeof(uint32_t));
    if (!r->node_id || !r->function_id || !r->string_id || !r->strings || !r->functions)
        return -1;
    memset(r->node_id, 0xff, nodes * sizeof(uint32_t));
    memset(r->function_id, 0xff, functions * sizeof(uint32_t));
    memset(r->string_id, 0xff, strings * sizeof(uint32_t));
    /* Mark each sample's leaf, then its ancestors: a parent's id is always
     * lower than its child's, so one backward sweep reaches every root. */
    for (size_t i = 0; i < p->sample_count; i++) {
        if (p->samples[i].stack < p->node_count)
            r->node_id[p->samples[i].stack] = 0;
    }
    for (uint32_t i = p->node_count; i-- > 0;) {
        uint32_t parent = p->nodes[i].parent;
        if (r->node_id[i] == 0 && parent != PROF_NO_PARENT && parent < i)
            r->node_id[parent] = 0;
    }
    use_string(r, 0);
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (r->node_id[i] == PROF_NONE)
            continue;
        r->node_id[i] = r->node_count++;
        uint32_t f = p->nodes[i].function;
        if (f < p->function_count && r->function_id[f] == PROF_NONE) {
            r->function_id[f] = r->function_count;
            r->functions[r->function_count++] = f;
            use_string(r, p->functions[f].name);
            use_string(r, p->functions[f].file);
        }
    }
    for (uint32_t i = 0; i < p->thread_count; i++)
        use_string(r, p->threads[i].name);
    for (uint32_t i = 0; i < p->meta_count; i++) {
        use_string(r, p->meta[i].key);
        use_string(r, p->meta[i].value);
    }
    return 0;
}

static void put_key(buf *out, const char *key)
{
    buf_putc(out, ',');
    buf_put_json_string(out, key, strlen(key));
    buf_putc(out, ':');
}

static void put_header(buf *out, const profile *p)
{
    buf_puts(out, "{\"format\":\"pyrometer-viewer\",\"version\":");
    buf_put_i64(out, VIEWER_DATA_VERSION);
    put_key(out, "value_unit");
    put_text(out, p->value_unit ? p->value_unit : "samples", strlen(p->value_unit ? p->value_unit : "samples"));
    put_key(out, "interpreter");
    put_text(out, p->interpreter, strnlen(p->interpreter, sizeof(p->interpreter)));
    put_key(out, "period_us");
    buf_put_i64(out, p->period_us);
    put_key(out, "mode");
    buf_put_u64(out, p->mode);
    put_key(out, "start_time_us");
    buf_put_i64(out, p->start_time_us);
    put_key(out, "end_time_us");
    buf_put_i64(out, p->end_time_us);
    put_key(out, "sample_count");
    buf_put_u64(out, p->sample_count);
    put_key(out, "total");
    buf_put_i64(out, profile_total_weight(p));
    put_key(out, "dropped");
    buf_put_u64(out, p->dropped);
    put_key(out, "warning");
    put_text(out, p->warning, strnlen(p->warning, sizeof(p->warning)));
}

static void put_tables(buf *out, const profile *p, const renumber *r)
{
    put_key(out, "strings");
    buf_putc(out, '[');
    for (uint32_t i = 0; i < r->string_count; i++) {
        if (i)
            buf_putc(out, ',');
        uint32_t s = r->strings[i];
        put_text(out, p->strings[s], p->string_lengths[s]);
    }
    buf_putc(out, ']');

    put_key(out, "functions");
    buf_putc(out, '[');
    for (uint32_t i = 0; i < r->function_count; i++) {
        const prof_function *f = &p->functions[r->functions[i]];
        if (i)
            buf_putc(out, ',');
        buf_put_u64(out, r->string_id[f->name]);
        buf_putc(out, ',');
        buf_put_u64(out, r->string_id[f->file]);
        buf_putc(out, ',');
        buf_put_i64(out, f->first_line);
        buf_putc(out, ',');
        buf_put_u64(out, f->kind);
    }
    buf_putc(out, ']');

    put_key(out, "nodes");
    buf_putc(out, '[');
    int first = 1;
    for (uint32_t i = 0; i < p->node_count; i++) {
        uint32_t id = r->node_id[i];
        if (id == PROF_NONE)
            continue;
        const prof_stack_node *n = &p->nodes[i];
        if (!first)
            buf_putc(out, ',');
        first = 0;
        uint32_t parent = n->parent == PROF_NO_PARENT ? PROF_NONE : r->node_id[n->parent];
        /* the model creates parents first; anything else is shown as a root */
        buf_put_u64(out, parent == PROF_NONE || parent >= id ? 0 : id - parent);
        buf_putc(out, ',');
        buf_put_u64(out, n->function < p->function_count ? r->function_id[n->function] : 0);
        buf_putc(out, ',');
        buf_put_i64(out, n->line);
    }
    buf_putc(out, ']');

    put_key(out, "threads");
    buf_putc(out, '[');
    for (uint32_t i = 0; i < p->thread_count; i++) {
        buf_puts(out, i ? ",[\"" : "[\"");
        buf_put_u64(out, p->threads[i].id);
        buf_puts(out, "\",");
        buf_put_u64(out, r->string_id[p->threads[i].name]);
        buf_putc(out, ']');
    }
    buf_putc(out, ']');

    put_key(out, "meta");
    buf_putc(out, '[');
    for (uint32_t i = 0; i < p->meta_count; i++) {
        if (i)
            buf_putc(out, ',');
        buf_put_u64(out, r->string_id[p->meta[i].key]);
        buf_putc(out, ',');
        buf_put_u64(out, r->string_id[p->meta[i].value]);
    }
    buf_putc(out, ']');
}

/* Writes the per-thread leaf weights. Samples are bucketed by thread with a
 * counting sort, then summed per node in one scratch array that is reset
 * through the list of nodes it touched, so the cost is O(samples + nodes). */
static int put_weights(buf *out, const profile *p, const renumber *r)
{
    uint32_t threads = p->thread_count;
    size_t nodes = r->node_count ? r->node_count : 1;
    size_t *start = calloc((size_t)threads + 2, sizeof(size_t));
    uint32_t *order = malloc((p->sample_count ? p->sample_count : 1) * sizeof(uint32_t));
    int64_t *sum = calloc(nodes, sizeof(int64_t));
    uint8_t *listed = calloc(nodes, 1);
    uint32_t *touched = malloc(nodes * sizeof(uint32_t));
    int rc = -1;
    if (!start || !order || !sum || !listed || !touched)
        goto done;
    /* start[t + 2] counts thread t, so after the prefix sum start[t + 1] is
     * where thread t begins and filling it leaves start[t + 1] at its end. */
    for (size_t i = 0; i < p->sample_count; i++) {
        if (p->samples[i].thread < threads)
            start[p->samples[i].thread + 2]++;
    }
    for (uint32_t t = 0; t < threads; t++)
        start[t + 2] += start[t + 1];
    for (size_t i = 0; i < p->sample_count; i++) {
        if (p->samples[i].thread < threads)
            order[start[p->samples[i].thread + 1]++] = (uint32_t)i;
    }
    put_key(out, "weights");
    buf_putc(out, '[');
    for (uint32_t t = 0; t < threads; t++) {
        uint32_t ntouched = 0;
        for (size_t k = start[t]; k < start[t + 1]; k++) {
            const prof_sample *s = &p->samples[order[k]];
            uint32_t node = s->stack < p->node_count ? r->node_id[s->stack] : PROF_NONE;
            if (node == PROF_NONE)
                continue;
            if (!listed[node]) {
                listed[node] = 1;
                touched[ntouched++] = node;
            }
            sum[node] += s->weight;
        }
        qsort(touched, ntouched, sizeof(uint32_t), compare_u32);
        buf_puts(out, t ? ",[" : "[");
        int64_t prev = -1;
        for (uint32_t j = 0; j < ntouched; j++) {
            uint32_t node = touched[j];
            int64_t w = sum[node];
            sum[node] = 0;
            listed[node] = 0;
            if (w == 0)
                continue;
            if (prev != -1)
                buf_putc(out, ',');
            buf_put_i64(out, (int64_t)node - prev);
            buf_putc(out, ',');
            buf_put_i64(out, w);
            prev = node;
        }
        buf_putc(out, ']');
    }
    buf_putc(out, ']');
    rc = 0;
done:
    free(start);
    free(order);
    free(sum);
    free(listed);
    free(touched);
    return rc;
}

/* The height a bucket of timeline points is judged by: the tracked heap
 * when recorded, else RSS. */
static int64_t timeline_level(const prof_timeline_point *t)
{
    return t->heap_bytes >= 0 ? t->heap_bytes : t->rss_bytes;
}

static void put_timeline(buf *out, const profile *p)
{
    put_key(out, "timeline");
    buf_putc(out, '[');
    size_t count = p->timeline_count;
    size_t bucket = (count + VIEWER_MAX_TIMELINE_POINTS - 1) / VIEWER_MAX_TIMELINE_POINTS;
    if (bucket == 0)
        bucket = 1;
    for (size_t b = 0; b < count; b += bucket) {
        size_t best = b;
        for (size_t i = b + 1; i < b + bucket && i < count; i++) {
            if (timeline_level(&p->timeline[i]) > timeline_level(&p->timeline[best]))
                best = i;
        }
        const prof_timeline_point *t = &p->timeline[best];
        if (b)
            buf_putc(out, ',');
        buf_put_i64(out, t->time_us);
        buf_putc(out, ',');
        buf_put_i64(out, t->rss_bytes);
        buf_putc(out, ',');
        buf_put_i64(out, t->heap_bytes);
    }
    buf_putc(out, ']');
}

int viewer_data_write(const profile *p, buf *out, prof_error *err)
{
    if (p->sample_count > VIEWER_MAX_SAMPLES)
        return prof_error_set(err, -1, "%zu samples are more than the viewer's limit of %u",
                              p->sample_count, (unsigned)VIEWER_MAX_SAMPLES);
    renumber r;
    if (renumber_build(&r, p) < 0) {
        renumber_free(&r);
        return prof_error_nomem(err);
    }
    put_header(out, p);
    put_tables(out, p, &r);
    int rc = put_weights(out, p, &r);
    renumber_free(&r);
    if (rc < 0)
        return prof_error_nomem(err);
    put_timeline(out, p);
    buf_putc(out, '}');
    if (buf_ok(out) < 0)
        return prof_error_nomem(err);
    return 0;
}
