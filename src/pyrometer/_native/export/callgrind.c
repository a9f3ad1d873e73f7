/* callgrind.c — the callgrind profile format
 * (https://valgrind.org/docs/manual/cl-format.html), as KCachegrind,
 * callgrind_annotate and gprof2dot read it.
 *
 * - positions are source lines: a function's self cost is split by the line
 *   executing in its leaf frames (its first line when lines were not
 *   recorded), and each call is charged at the caller's line.
 * - The one event is Samples (CPU) or Bytes (memory); costs are integers.
 * - calls=N counts the samples in which that caller→callee edge is on the
 *   stack (samples carry no call counts), and the inclusive cost of a call
 *   counts each sample once even under recursion, so it never exceeds the
 *   profile total.
 * - File and function names use `(id) name` compression, each defined
 *   exactly once (speedscope's importer rejects a redefinition). A function
 *   name shared by two functions is disambiguated with its file and line. */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>

typedef struct sort_item {
    uint64_t hi;
    uint32_t lo;
    uint32_t id;
} sort_item;

static int sort_item_cmp(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

typedef struct names {
    uint32_t *file_id;   /* by string id: compression id, 0 = not yet defined */
    uint32_t *fn_id;     /* by function index */
    uint32_t *name_uses; /* by string id: how many functions have this name */
    uint32_t next_file, next_fn;
} names;

static void put_file(buf *out, const char *key, names *nm, const profile *p, uint32_t file)
{
    buf_puts(out, key);
    if (nm->file_id[file] != 0) {
        buf_putc(out, '(');
        buf_put_u64(out, nm->file_id[file]);
        buf_puts(out, ")\n");
        return;
    }
    nm->file_id[file] = ++nm->next_file;
    buf_putc(out, '(');
    buf_put_u64(out, nm->file_id[file]);
    buf_puts(out, ") ");
    if (file == 0)
        buf_puts(out, "???");
    else
        buf_append(out, p->strings[file], p->string_lengths[file]);
    buf_putc(out, '\n');
}

static void put_fn(buf *out, const char *key, names *nm, const profile *p, uint32_t function)
{
    buf_puts(out, key);
    buf_putc(out, '(');
    if (nm->fn_id[function] != 0) {
        buf_put_u64(out, nm->fn_id[function]);
        buf_puts(out, ")\n");
        return;
    }
    nm->fn_id[function] = ++nm->next_fn;
    buf_put_u64(out, nm->fn_id[function]);
    buf_puts(out, ") ");
    const prof_function *f = &p->functions[function];
    size_t start = out->len;
    if (nm->name_uses[f->name] > 1 || f->name == 0)
        export_put_function_label(out, p, function);
    else
        buf_append(out, p->strings[f->name], p->string_lengths[f->name]);
    /* A line break would end the record early. */
    for (size_t k = start; !out->failed && k < out->len; k++) {
        if (out->data[k] == '\n' || out->data[k] == '\r')
            out->data[k] = ' ';
    }
    buf_putc(out, '\n');
}

static int32_t node_line(const profile *p, uint32_t node)
{
    const prof_stack_node *n = &p->nodes[node];
    int32_t line = n->line > 0 ? n->line : p->functions[n->function].first_line;
    return line > 0 ? line : 0;
}

int export_callgrind(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    int64_t *self_w = NULL, *self_c = NULL;
    if (export_node_self(p, opts->thread, &self_w, &self_c, err) < 0)
        return -1;
    size_t nodes = p->node_count ? p->node_count : 1;
    export_pairs costs, edges;
    export_pairs_init(&costs);
    export_pairs_init(&edges);
    names nm = {0};
    uint32_t *node_cost = malloc(nodes * sizeof(uint32_t));
    uint32_t *node_edge = malloc(nodes * sizeof(uint32_t));
    int64_t *cost_w = NULL, *edge_w = NULL, *edge_c = NULL;
    uint32_t *edge_stamp = NULL;
    sort_item *order = NULL;
    int rc = -1;
    nm.file_id = calloc(p->string_count, sizeof(uint32_t));
    nm.name_uses = calloc(p->string_count, sizeof(uint32_t));
    nm.fn_id = calloc(p->function_count ? p->function_count : 1, sizeof(uint32_t));
    if (node_cost == NULL || node_edge == NULL || nm.file_id == NULL || nm.name_uses == NULL || nm.fn_id == NULL)
        goto nomem;
    for (uint32_t i = 0; i < p->function_count; i++)
        nm.name_uses[p->functions[i].name]++;

    /* Cost lines (function, line) and call edges (caller, caller line, callee). */
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        node_cost[i] = export_pairs_intern(&costs, n->function, (uint32_t)node_line(p, i));
        if (node_cost[i] == PROF_NONE)
            goto nomem;
        node_edge[i] = PROF_NONE;
        if (n->parent != PROF_NO_PARENT) {
            uint64_t where = ((uint64_t)(uint32_t)node_line(p, n->parent) << 32) | n->function;
            node_edge[i] = export_pairs_intern(&edges, p->nodes[n->parent].function, where);
            if (node_edge[i] == PROF_NONE)
                goto nomem;
        }
    }
    cost_w = calloc(costs.count ? costs.count : 1, sizeof(int64_t));
    edge_w = calloc(edges.count ? edges.count : 1, sizeof(int64_t));
    edge_c = calloc(edges.count ? edges.count : 1, sizeof(int64_t));
    edge_stamp = malloc((edges.count ? edges.count : 1) * sizeof(uint32_t));
    if (cost_w == NULL || edge_w == NULL || edge_c == NULL || edge_stamp == NULL)
        goto nomem;
    memset(edge_stamp, 0xff, (edges.count ? edges.count : 1) * sizeof(uint32_t));
    int64_t total = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (self_c[i] == 0)
            continue;
        total += self_w[i];
        cost_w[node_cost[i]] += self_w[i];
        /* Charge every edge on this path once, however often it recurs. */
        for (uint32_t n = i; p->nodes[n].parent != PROF_NO_PARENT; n = p->nodes[n].parent) {
            uint32_t e = node_edge[n];
            if (edge_stamp[e] == i)
                continue;
            edge_stamp[e] = i;
            edge_w[e] += self_w[i];
            edge_c[e] += self_c[i];
        }
    }

    /* Sort cost lines and edges together by function, then line. Edges sort
     * after the function's own cost lines (lo bit 31 marks them). */
    size_t n_items = (size_t)costs.count + edges.count;
    order = malloc((n_items ? n_items : 1) * sizeof(sort_item));
    if (order == NULL)
        goto nomem;
    size_t k = 0;
    for (uint32_t i = 0; i < costs.count; i++) {
        if (cost_w[i] != 0)
            order[k++] = (sort_item){(costs.a[i] << 32) | costs.b[i], 0, i};
    }
    for (uint32_t i = 0; i < edges.count; i++) {
        if (edge_c[i] != 0)
            order[k++] = (sort_item){(edges.a[i] << 32) | (edges.b[i] >> 32),
                                     0x80000000u | (uint32_t)edges.b[i], i};
    }
    qsort(order, k, sizeof(sort_item), sort_item_cmp);

    const char *unit = export_is_memory(p) ? "Bytes" : "Samples";
    buf_puts(out, "# callgrind format\nversion: 1\ncreator: pyrometer\ncmd: ");
    const char *title = export_title(opts);
    for (const char *c = title; *c; c++)
        buf_putc(out, *c == '\n' || *c == '\r' ? ' ' : *c);
    buf_puts(out, "\npositions: line\nevents: ");
    buf_puts(out, unit);
    buf_puts(out, "\nsummary: ");
    buf_put_i64(out, total);
    buf_puts(out, "\n\n");
    uint32_t current = PROF_NONE;
    for (size_t i = 0; i < k; i++) {
        uint32_t fn = (uint32_t)(order[i].hi >> 32);
        if (fn != current) {
            current = fn;
            buf_putc(out, '\n');
            put_file(out, "fl=", &nm, p, p->functions[fn].file);
            put_fn(out, "fn=", &nm, p, fn);
        }
        if (!(order[i].lo & 0x80000000u)) {
            buf_put_u64(out, costs.b[order[i].id]);
            buf_putc(out, ' ');
            buf_put_i64(out, cost_w[order[i].id]);
            buf_putc(out, '\n');
            continue;
        }
        uint32_t e = order[i].id;
        uint32_t callee = (uint32_t)edges.b[e];
        put_file(out, "cfl=", &nm, p, p->functions[callee].file);
        put_fn(out, "cfn=", &nm, p, callee);
        buf_puts(out, "calls=");
        buf_put_i64(out, edge_c[e]);
        buf_putc(out, ' ');
        buf_put_i64(out, p->functions[callee].first_line > 0 ? p->functions[callee].first_line : 0);
        buf_putc(out, '\n');
        buf_put_u64(out, edges.b[e] >> 32);
        buf_putc(out, ' ');
        buf_put_i64(out, edge_w[e]);
        buf_putc(out, '\n');
    }
    buf_puts(out, "\ntotals: ");
    buf_put_i64(out, total);
    buf_putc(out, '\n');
    rc = 0;
    goto done;
nomem:
    prof_error_nomem(err);
done:
    free(self_w);
    free(self_c);
    export_pairs_free(&costs);
    export_pairs_free(&edges);
    free(node_cost);
    free(node_edge);
    free(cost_w);
    free(edge_w);
    free(edge_c);
    free(edge_stamp);
    free(order);
    free(nm.file_id);
    free(nm.fn_id);
    free(nm.name_uses);
    return rc;
}
