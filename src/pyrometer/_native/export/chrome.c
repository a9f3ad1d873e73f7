/* chrome.c — Chrome's trace event format (JSON `traceEvents`), as
 * chrome://tracing, Perfetto and speedscope read it.
 *
 * vmprof samples have no timestamps, so each thread's samples are laid end
 * to end in file order, each lasting weight × period µs (memory profiles:
 * one µs per byte). Frames open and close with B/E events as consecutive
 * stacks differ; frames are functions (a change of line alone is not a new
 * event). Threads are told apart by a small `tid` (thread index + 1; the
 * thread's real id is in its thread_name metadata), which keeps each event
 * short: a 1M-sample profile can mean tens of millions of events. */
#include "export/export_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct thread_ctx {
    buf *out;
    const buf *names;     /* every function's label as a JSON string literal */
    const size_t *start;  /* label i is names->data[start[i] .. start[i+1]) */
    char tail[48];        /* ",\"pid\":1,\"tid\":N}" for this thread */
    size_t tail_len;
} thread_ctx;

static void put_event(thread_ctx *c, char phase, uint32_t function, int64_t ts)
{
    buf *out = c->out;
    size_t name_len = c->start[function + 1] - c->start[function];
    if (buf_reserve(out, name_len + c->tail_len + 64) < 0)
        return;
    static const char head[] = ",\n{\"ph\":\"B\",\"name\":";
    char *w = out->data + out->len;
    memcpy(w, head, sizeof(head) - 1);
    w[9] = phase; /* the B in head */
    w += sizeof(head) - 1;
    memcpy(w, c->names->data + c->start[function], name_len);
    w += name_len;
    memcpy(w, ",\"ts\":", 6);
    out->len = (size_t)(w + 6 - out->data);
    buf_put_i64(out, ts);
    buf_append(out, c->tail, c->tail_len);
}

static void put_thread_events(thread_ctx *c, const profile *p, uint32_t thread, int64_t scale, uint32_t *open,
                              uint32_t *path)
{
    uint32_t depth = 0, prev = PROF_NONE;
    int64_t ts = 0;
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (s->thread != thread)
            continue;
        if (s->stack != prev) {
            prev = s->stack;
            uint32_t n_path = 0;
            for (uint32_t n = s->stack; n != PROF_NO_PARENT; n = p->nodes[n].parent)
                path[n_path++] = p->nodes[n].function;
            /* path is leaf first; compare with open (root first). */
            uint32_t common = 0;
            while (common < depth && common < n_path && open[common] == path[n_path - 1 - common])
                common++;
            while (depth > common)
                put_event(c, 'E', open[--depth], ts);
            while (depth < n_path) {
                open[depth] = path[n_path - 1 - depth];
                put_event(c, 'B', open[depth], ts);
                depth++;
            }
        }
        ts += s->weight * scale;
    }
    while (depth > 0)
        put_event(c, 'E', open[--depth], ts);
}

static void put_metadata(buf *out, const char *what, uint64_t tid, const char *name, size_t len)
{
    buf_puts(out, ",\n{\"ph\":\"M\",\"name\":\"");
    buf_puts(out, what);
    buf_puts(out, "\",\"pid\":1,\"tid\":");
    buf_put_u64(out, tid);
    buf_puts(out, ",\"args\":{\"name\":");
    buf_put_json_string(out, name, len);
    buf_puts(out, "}}");
}

int export_chrome(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    uint32_t max_depth = 1;
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (p->nodes[i].depth > max_depth)
            max_depth = p->nodes[i].depth;
    }
    buf names, label;
    buf_init(&names);
    buf_init(&label);
    size_t *start = malloc(((size_t)p->function_count + 1) * sizeof(size_t));
    uint32_t *open = malloc((size_t)max_depth * sizeof(uint32_t));
    uint32_t *path = malloc((size_t)max_depth * sizeof(uint32_t));
    int64_t *thread_weight = export_thread_weights(p);
    int rc = -1;
    if (start == NULL || open == NULL || path == NULL || thread_weight == NULL)
        goto nomem;
    for (uint32_t i = 0; i < p->function_count; i++) {
        start[i] = names.len;
        label.len = 0;
        export_put_function_label(&label, p, i);
        buf_put_json_string(&names, label.data ? label.data : "", label.len);
    }
    start[p->function_count] = names.len;
    if (names.failed || label.failed)
        goto nomem;
    int64_t scale = export_is_memory(p) ? 1 : export_period_us(p);
    const char *title = export_title(opts);
    buf_puts(out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"pyrometer\"},\"traceEvents\":[\n");
    buf_puts(out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,\"args\":{\"name\":");
    buf_put_json_string(out, title, strlen(title));
    buf_puts(out, "}}");
    for (uint32_t t = 0; t < p->thread_count; t++) {
        if (opts->thread != PROF_NONE ? t != opts->thread : thread_weight[t] == 0)
            continue;
        thread_ctx c = {out, &names, start, "", 0};
        c.tail_len = (size_t)snprintf(c.tail, sizeof(c.tail), ",\"pid\":1,\"tid\":%u}", t + 1);
        label.len = 0;
        export_put_thread_label(&label, p, t);
        put_metadata(out, "thread_name", (uint64_t)t + 1, label.data ? label.data : "", label.len);
        put_thread_events(&c, p, t, scale, open, path);
        if (out->failed)
            goto nomem;
    }
    buf_puts(out, "\n]}\n");
    rc = 0;
    goto done;
nomem:
    prof_error_nomem(err);
done:
    buf_free(&names);
    buf_free(&label);
    free(start);
    free(open);
    free(path);
    free(thread_weight);
    return rc;
}
