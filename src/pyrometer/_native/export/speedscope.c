/* speedscope.c — speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json): one "sampled"
 * profile per thread, sharing one frame list (one frame per function).
 *
 * vmprof samples carry no timestamps but are written in time order, so
 * each thread's samples keep file order (speedscope's "Time Order" view);
 * consecutive samples with the same stack merge into one weighted sample,
 * which keeps the file small without losing that order. Weights are µs
 * (samples × period) for CPU profiles and bytes for memory profiles. */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>

/* Appends the stack ending at `leaf` as frame indices, root first. */
static void put_stack(buf *out, const profile *p, uint32_t leaf, uint32_t *scratch)
{
    uint32_t depth = 0;
    for (uint32_t n = leaf; n != PROF_NO_PARENT; n = p->nodes[n].parent)
        scratch[depth++] = p->nodes[n].function;
    buf_putc(out, '[');
    for (uint32_t i = depth; i-- > 0;) {
        buf_put_u64(out, scratch[i]);
        if (i > 0)
            buf_putc(out, ',');
    }
    buf_putc(out, ']');
}

static uint32_t max_depth(const profile *p)
{
    uint32_t m = 1;
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (p->nodes[i].depth > m)
            m = p->nodes[i].depth;
    }
    return m;
}

/* One thread's "sampled" profile object. */
static void put_thread_profile(buf *out, const profile *p, uint32_t thread, int64_t scale, const char *unit,
                               uint32_t *scratch, buf *weights)
{
    int64_t total = 0;
    buf_puts(out, "{\"type\":\"sampled\",\"name\":");
    buf label;
    buf_init(&label);
    export_put_thread_label(&label, p, thread);
    buf_put_json_string(out, label.data ? label.data : "", label.len);
    if (label.failed)
        out->failed = 1;
    buf_free(&label);
    buf_puts(out, ",\"unit\":\"");
    buf_puts(out, unit);
    buf_puts(out, "\",\"startValue\":0,\"samples\":[");
    weights->len = 0;
    uint32_t prev = PROF_NONE;
    int64_t run = 0;
    int first = 1;
    for (size_t i = 0; i <= p->sample_count; i++) {
        const prof_sample *s = i < p->sample_count ? &p->samples[i] : NULL;
        if (s != NULL && s->thread != thread)
            continue;
        if (s != NULL && s->stack == prev) {
            run += s->weight * scale;
            continue;
        }
        if (prev != PROF_NONE) {
            if (!first) {
                buf_putc(out, ',');
                buf_putc(weights, ',');
            }
            first = 0;
            put_stack(out, p, prev, scratch);
            buf_put_i64(weights, run);
            total += run;
        }
        if (s != NULL) {
            prev = s->stack;
            run = s->weight * scale;
        }
    }
    buf_puts(out, "],\"weights\":[");
    buf_append(out, weights->data, weights->len);
    buf_puts(out, "],\"endValue\":");
    buf_put_i64(out, total);
    buf_putc(out, '}');
    if (weights->failed)
        out->failed = 1;
}

int export_speedscope(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    int64_t *thread_weight = export_thread_weights(p);
    uint32_t *scratch = malloc((size_t)max_depth(p) * sizeof(uint32_t));
    if (thread_weight == NULL || scratch == NULL) {
        free(thread_weight);
        free(scratch);
        return prof_error_nomem(err);
    }
    int memory = export_is_memory(p);
    int64_t scale = memory ? 1 : export_period_us(p);
    const char *unit = memory ? "bytes" : "microseconds";

    const char *title = export_title(opts);
    buf_puts(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"pyrometer\",");
    buf_puts(out, "\"name\":");
    buf_put_json_string(out, title, strlen(title));
    buf_puts(out, ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
    for (uint32_t i = 0; i < p->function_count; i++) {
        const prof_function *f = &p->functions[i];
        if (i > 0)
            buf_putc(out, ',');
        buf_puts(out, "{\"name\":");
        if (f->name == 0)
            buf_puts(out, "\"<unknown>\"");
        else
            buf_put_json_string(out, p->strings[f->name], p->string_lengths[f->name]);
        if (f->file != 0) {
            buf_puts(out, ",\"file\":");
            buf_put_json_string(out, p->strings[f->file], p->string_lengths[f->file]);
        }
        if (f->first_line > 0) {
            buf_puts(out, ",\"line\":");
            buf_put_i64(out, f->first_line);
        }
        buf_putc(out, '}');
    }
    buf_puts(out, "]},\"profiles\":[");
    buf weights;
    buf_init(&weights);
    int first = 1;
    for (uint32_t t = 0; t < p->thread_count; t++) {
        if (opts->thread != PROF_NONE ? t != opts->thread : thread_weight[t] == 0)
            continue;
        if (!first)
            buf_putc(out, ',');
        first = 0;
        put_thread_profile(out, p, t, scale, unit, scratch, &weights);
    }
    buf_puts(out, "]}\n");
    buf_free(&weights);
    free(thread_weight);
    free(scratch);
    return 0;
}
