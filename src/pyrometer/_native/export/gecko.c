/* gecko.c — the Firefox Profiler's Gecko profile format (meta.version 36,
 * presymbolicated), which profiler.firefox.com and profiler-cli import and
 * process themselves.
 *
 * Each thread has its own schema-tagged tables: stackTable rows are the
 * profile's stack nodes that this thread uses (the prefix tree maps
 * directly), frameTable rows are distinct (function, line) pairs with the
 * location "name (file:line)" that the processor splits into function and
 * file, and samples keep file order at one period apart (vmprof has no
 * per-sample timestamps). Memory profiles also carry each sample's bytes as
 * a "Native allocation" marker (see put_allocation_markers). */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>

#define GECKO_VERSION 36
#define ALLOCATION_MARKER "Native allocation"

/* Frame categories, indexes into meta.categories. */
enum { CATEGORY_PYTHON = 0, CATEGORY_NATIVE = 1, CATEGORY_OTHER = 2 };

/* Appends µs as milliseconds with three decimals, without printf's cost. */
static void put_ms(buf *out, int64_t us)
{
    if (us < 0) {
        buf_putc(out, '-');
        us = -us;
    }
    buf_put_i64(out, us / 1000);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
    buf_append(out, frac, 4);
}

typedef struct thread_tables {
    uint32_t *stack_of_node;    /* node -> row in stackTable, PROF_NONE when unused */
    uint32_t *string_of_fn;     /* function -> row in stringTable, PROF_NONE when not yet added */
    export_pairs frames;        /* (function, line) */
    buf strings;                /* stringTable entries, comma separated */
    uint32_t string_count;
} thread_tables;

static uint32_t location_string(thread_tables *t, const profile *p, uint32_t function, buf *label)
{
    if (t->string_of_fn[function] != PROF_NONE)
        return t->string_of_fn[function];
    label->len = 0;
    export_put_function_label(label, p, function);
    if (t->string_count > 0)
        buf_putc(&t->strings, ',');
    buf_put_json_string(&t->strings, label->data ? label->data : "", label->len);
    t->string_of_fn[function] = t->string_count++;
    return t->string_of_fn[function];
}

/* The samples table cannot carry bytes (the processor drops a weight
 * column), so memory profiles also get one "Native allocation" marker per
 * sample, which the processor turns into its nativeAllocations table
 * (weight = size): the Firefox Profiler's native-allocations views then
 * show bytes. */
static void put_allocation_markers(buf *out, const profile *p, uint32_t thread, const thread_tables *t,
                                   int64_t us_per_unit)
{
    int64_t units = 0;
    int first = 1;
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (s->thread != thread)
            continue;
        if (!first)
            buf_putc(out, ',');
        first = 0;
        buf_puts(out, "[0,");
        put_ms(out, units * us_per_unit);
        buf_puts(out, ",null,0,0,{\"type\":\"Native allocation\",\"size\":");
        buf_put_i64(out, s->weight);
        buf_puts(out, ",\"stack\":{\"samples\":{\"schema\":{\"stack\":0,\"time\":1},\"data\":[[");
        buf_put_u64(out, t->stack_of_node[s->stack]);
        buf_putc(out, ',');
        put_ms(out, units * us_per_unit);
        buf_puts(out, "]]}}}]");
        units++;
    }
}

static int put_thread(buf *out, const profile *p, uint32_t thread, thread_tables *t, buf *label, int memory,
                      int64_t us_per_unit)
{
    memset(t->stack_of_node, 0xff, (p->node_count ? p->node_count : 1) * sizeof(uint32_t));
    memset(t->string_of_fn, 0xff, (p->function_count ? p->function_count : 1) * sizeof(uint32_t));
    export_pairs_free(&t->frames);
    t->strings.len = 0;
    t->string_count = 0;
    /* Mark the nodes this thread's samples reach, with their ancestors. */
    for (size_t i = 0; i < p->sample_count; i++) {
        if (p->samples[i].thread != thread)
            continue;
        for (uint32_t n = p->samples[i].stack; n != PROF_NO_PARENT && t->stack_of_node[n] == PROF_NONE;
             n = p->nodes[n].parent)
            t->stack_of_node[n] = 0;
    }
    if (memory) {
        /* String 0 names the allocation markers. */
        buf_put_json_string(&t->strings, ALLOCATION_MARKER, strlen(ALLOCATION_MARKER));
        t->string_count = 1;
    }
    buf_puts(out, "{\"name\":");
    label->len = 0;
    export_put_thread_label(label, p, thread);
    buf_put_json_string(out, label->data ? label->data : "", label->len);
    buf_puts(out, ",\"processType\":\"default\",\"processName\":\"python\",\"registerTime\":0,"
                  "\"unregisterTime\":null,\"pid\":1,\"tid\":");
    buf_put_u64(out, p->threads[thread].id < ((uint64_t)1 << 53) ? p->threads[thread].id : thread);
    buf_puts(out, ",\"stackTable\":{\"schema\":{\"prefix\":0,\"frame\":1},\"data\":[");
    /* Nodes are numbered parent first, so a prefix row precedes its children. */
    uint32_t rows = 0;
    for (uint32_t n = 0; n < p->node_count; n++) {
        if (t->stack_of_node[n] == PROF_NONE)
            continue;
        const prof_stack_node *node = &p->nodes[n];
        int32_t line = node->line > 0 ? node->line : p->functions[node->function].first_line;
        uint32_t frame = export_pairs_intern(&t->frames, node->function, (uint32_t)(line > 0 ? line : 0));
        if (frame == PROF_NONE)
            return -1;
        t->stack_of_node[n] = rows++;
        if (rows > 1)
            buf_putc(out, ',');
        buf_putc(out, '[');
        if (node->parent == PROF_NO_PARENT)
            buf_puts(out, "null");
        else
            buf_put_u64(out, t->stack_of_node[node->parent]);
        buf_putc(out, ',');
        buf_put_u64(out, frame);
        buf_putc(out, ']');
    }
    buf_puts(out, "]},\"frameTable\":{\"schema\":{\"location\":0,\"relevantForJS\":1,\"innerWindowID\":2,"
                  "\"implementation\":3,\"line\":4,\"column\":5,\"category\":6,\"subcategory\":7},\"data\":[");
    for (uint32_t f = 0; f < t->frames.count; f++) {
        uint32_t function = (uint32_t)t->frames.a[f];
        uint8_t kind = p->functions[function].kind;
        if (f > 0)
            buf_putc(out, ',');
        buf_putc(out, '[');
        buf_put_u64(out, location_string(t, p, function, label));
        buf_puts(out, ",false,0,null,");
        if (t->frames.b[f] > 0)
            buf_put_u64(out, t->frames.b[f]);
        else
            buf_puts(out, "null");
        buf_puts(out, ",null,");
        buf_put_u64(out, kind == PROF_FRAME_PYTHON   ? CATEGORY_PYTHON
                         : kind == PROF_FRAME_NATIVE ? CATEGORY_NATIVE
                                                     : CATEGORY_OTHER);
        buf_puts(out, ",0]");
    }
    buf_puts(out, "]},\"samples\":{\"schema\":{\"stack\":0,\"time\":1,\"eventDelay\":2},\"data\":[");
    int64_t units = 0;
    int first = 1;
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (s->thread != thread)
            continue;
        /* The samples table has no weight, so a CPU sample that stands for
         * several periods (the sampler fell behind) becomes that many rows. */
        int64_t rows = memory || s->weight < 1 ? 1 : s->weight;
        for (int64_t r = 0; r < rows; r++) {
            if (!first)
                buf_putc(out, ',');
            first = 0;
            buf_putc(out, '[');
            buf_put_u64(out, t->stack_of_node[s->stack]);
            buf_putc(out, ',');
            put_ms(out, units * us_per_unit);
            buf_puts(out, ",0]");
            units++;
        }
    }
    buf_puts(out, "]},\"markers\":{\"schema\":{\"name\":0,\"startTime\":1,\"endTime\":2,\"phase\":3,"
                  "\"category\":4,\"data\":5},\"data\":[");
    if (memory)
        put_allocation_markers(out, p, thread, t, us_per_unit);
    buf_puts(out, "]},\"stringTable\":[");
    buf_append(out, t->strings.data, t->strings.len);
    buf_puts(out, "]}");
    return t->strings.failed ? -1 : 0;
}

int export_gecko(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    thread_tables t;
    memset(&t, 0, sizeof(t));
    buf label;
    buf_init(&label);
    buf_init(&t.strings);
    t.stack_of_node = malloc((p->node_count ? p->node_count : 1) * sizeof(uint32_t));
    t.string_of_fn = malloc((p->function_count ? p->function_count : 1) * sizeof(uint32_t));
    int64_t *thread_weight = export_thread_weights(p);
    int rc = -1;
    if (t.stack_of_node == NULL || t.string_of_fn == NULL || thread_weight == NULL)
        goto nomem;
    int memory = export_is_memory(p);
    int64_t period_us = export_period_us(p);
    const char *title = export_title(opts);
    buf_puts(out, "{\"meta\":{\"version\":");
    buf_put_u64(out, GECKO_VERSION);
    buf_puts(out, ",\"interval\":");
    put_ms(out, period_us);
    buf_puts(out, ",\"startTime\":");
    put_ms(out, p->start_time_us);
    buf_puts(out, ",\"shutdownTime\":null,\"processType\":0,\"product\":");
    buf_put_json_string(out, title, strlen(title));
    buf_puts(out, ",\"stackwalk\":0,\"debug\":false,\"presymbolicated\":true,\"abi\":\"\",\"misc\":\"\","
                  "\"oscpu\":\"\",\"platform\":\"\",\"toolkit\":\"\",\"markerSchema\":[],\"categories\":["
                  "{\"name\":\"Python\",\"color\":\"yellow\",\"subcategories\":[\"Other\"]},"
                  "{\"name\":\"Native\",\"color\":\"blue\",\"subcategories\":[\"Other\"]},"
                  "{\"name\":\"Other\",\"color\":\"grey\",\"subcategories\":[\"Other\"]}]},"
                  "\"libs\":[],\"pausedRanges\":[],\"processes\":[],\"threads\":[");
    int first = 1;
    for (uint32_t th = 0; th < p->thread_count; th++) {
        if (opts->thread != PROF_NONE ? th != opts->thread : thread_weight[th] == 0)
            continue;
        if (!first)
            buf_putc(out, ',');
        first = 0;
        /* Memory samples sit one interval apart; CPU samples span weight × period. */
        if (put_thread(out, p, th, &t, &label, memory, period_us) < 0)
            goto nomem;
    }
    buf_puts(out, "]}\n");
    rc = 0;
    goto done;
nomem:
    prof_error_nomem(err);
done:
    free(t.stack_of_node);
    free(t.string_of_fn);
    export_pairs_free(&t.frames);
    buf_free(&t.strings);
    buf_free(&label);
    free(thread_weight);
    return rc;
}
