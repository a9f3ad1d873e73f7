/* pstats.c — cProfile's stats file, as pstats.Stats(path) and snakeviz load
 * it: marshal bytes of
 *   {(file, line, name): (cc, nc, tt, ct, {caller key: (nc, cc, tt, ct)})}
 *
 * Samples carry no call counts, so a "call" count is the number of samples
 * in which the function (or caller→callee edge) is on the stack. tt is self
 * time, ct inclusive time, both samples × period in seconds (memory
 * profiles: bytes), and ct counts each sample once even under recursion.
 * Functions without a file (native code) get cProfile's builtin key
 * ("~", 0, name). Marshal is written by hand: dict, tuple, str, int, float. */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>

/* ---- marshal ----------------------------------------------------------- */

static void put_u32(buf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    buf_append(b, le, 4);
}

static void marshal_int(buf *b, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        buf_putc(b, 'i');
        put_u32(b, (uint32_t)(int32_t)v);
        return;
    }
    /* TYPE_LONG: signed digit count, then 15-bit digits, least significant first. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint16_t digits[5];
    int n = 0;
    while (mag != 0) {
        digits[n++] = (uint16_t)(mag & 0x7fff);
        mag >>= 15;
    }
    buf_putc(b, 'l');
    put_u32(b, (uint32_t)(int32_t)(v < 0 ? -n : n));
    for (int i = 0; i < n; i++) {
        unsigned char le[2] = {(unsigned char)digits[i], (unsigned char)(digits[i] >> 8)};
        buf_append(b, le, 2);
    }
}

static void marshal_float(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    buf_putc(b, 'g');
    for (int i = 0; i < 8; i++)
        buf_putc(b, (char)(bits >> (8 * i)));
}

/* A str; invalid UTF-8 bytes become '?' since marshal.loads would reject them. */
static void marshal_str(buf *b, const char *s, size_t len)
{
    buf_putc(b, 'u');
    put_u32(b, (uint32_t)len);
    if (export_utf8_valid(s, len)) {
        buf_append(b, s, len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        buf_putc(b, (unsigned char)s[i] < 0x80 ? s[i] : '?');
}

static void marshal_tuple(buf *b, uint32_t n)
{
    buf_putc(b, '(');
    put_u32(b, n);
}

/* ---- stats --------------------------------------------------------------- */

typedef struct pstats_key {
    uint32_t file, name; /* string ids; file 0 = builtin "~" */
    int32_t line;
} pstats_key;

static void marshal_key(buf *b, const profile *p, const pstats_key *k)
{
    marshal_tuple(b, 3);
    if (k->file == 0)
        marshal_str(b, "~", 1);
    else
        marshal_str(b, p->strings[k->file], p->string_lengths[k->file]);
    marshal_int(b, k->file == 0 ? 0 : k->line);
    if (k->name == 0)
        marshal_str(b, "<unknown>", 9);
    else
        marshal_str(b, p->strings[k->name], p->string_lengths[k->name]);
}

typedef struct edge_order {
    uint32_t callee, caller, id;
} edge_order;

static int edge_order_cmp(const void *x, const void *y)
{
    const edge_order *a = x, *b = y;
    if (a->callee != b->callee)
        return a->callee < b->callee ? -1 : 1;
    if (a->caller != b->caller)
        return a->caller < b->caller ? -1 : 1;
    return 0;
}

int export_pstats(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    int64_t *self_w = NULL, *self_c = NULL;
    if (export_node_self(p, opts->thread, &self_w, &self_c, err) < 0)
        return -1;
    double scale = export_is_memory(p) ? 1.0 : (double)export_period_us(p) / 1e6;
    size_t nodes = p->node_count ? p->node_count : 1;
    export_pairs keys, edges;
    export_pairs_init(&keys);
    export_pairs_init(&edges);
    uint32_t *fn_key = malloc((p->function_count ? p->function_count : 1) * sizeof(uint32_t));
    uint32_t *node_edge = malloc(nodes * sizeof(uint32_t));
    int64_t *key_self = NULL, *key_incl_w = NULL, *key_incl_c = NULL;
    int64_t *edge_self = NULL, *edge_w = NULL, *edge_c = NULL;
    uint32_t *key_stamp = NULL, *edge_stamp = NULL;
    edge_order *order = NULL;
    int rc = -1;
    if (fn_key == NULL || node_edge == NULL)
        goto nomem;
    for (uint32_t i = 0; i < p->function_count; i++) {
        const prof_function *f = &p->functions[i];
        int32_t line = f->file == 0 || f->first_line < 0 ? 0 : f->first_line;
        fn_key[i] = export_pairs_intern(&keys, f->file, ((uint64_t)(uint32_t)line << 32) | f->name);
        if (fn_key[i] == PROF_NONE)
            goto nomem;
    }
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        node_edge[i] = PROF_NONE;
        if (n->parent != PROF_NO_PARENT) {
            node_edge[i] = export_pairs_intern(&edges, fn_key[p->nodes[n->parent].function], fn_key[n->function]);
            if (node_edge[i] == PROF_NONE)
                goto nomem;
        }
    }
    size_t nk = keys.count ? keys.count : 1, ne = edges.count ? edges.count : 1;
    key_self = calloc(nk, sizeof(int64_t));
    key_incl_w = calloc(nk, sizeof(int64_t));
    key_incl_c = calloc(nk, sizeof(int64_t));
    key_stamp = malloc(nk * sizeof(uint32_t));
    edge_self = calloc(ne, sizeof(int64_t));
    edge_w = calloc(ne, sizeof(int64_t));
    edge_c = calloc(ne, sizeof(int64_t));
    edge_stamp = malloc(ne * sizeof(uint32_t));
    order = malloc(ne * sizeof(edge_order));
    if (!key_self || !key_incl_w || !key_incl_c || !key_stamp || !edge_self || !edge_w || !edge_c || !edge_stamp ||
        !order)
        goto nomem;
    memset(key_stamp, 0xff, nk * sizeof(uint32_t));
    memset(edge_stamp, 0xff, ne * sizeof(uint32_t));
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (self_c[i] == 0)
            continue;
        key_self[fn_key[p->nodes[i].function]] += self_w[i];
        if (node_edge[i] != PROF_NONE)
            edge_self[node_edge[i]] += self_w[i];
        /* Each function and each edge counts once per sample on this path. */
        for (uint32_t n = i; n != PROF_NO_PARENT; n = p->nodes[n].parent) {
            uint32_t k = fn_key[p->nodes[n].function];
            if (key_stamp[k] != i) {
                key_stamp[k] = i;
                key_incl_w[k] += self_w[i];
                key_incl_c[k] += self_c[i];
            }
            uint32_t e = node_edge[n];
            if (e != PROF_NONE && edge_stamp[e] != i) {
                edge_stamp[e] = i;
                edge_w[e] += self_w[i];
                edge_c[e] += self_c[i];
            }
        }
    }
    size_t n_order = 0;
    for (uint32_t e = 0; e < edges.count; e++) {
        if (edge_c[e] != 0)
            order[n_order++] = (edge_order){(uint32_t)edges.b[e], (uint32_t)edges.a[e], e};
    }
    qsort(order, n_order, sizeof(edge_order), edge_order_cmp);

    buf_putc(out, '{');
    size_t next_edge = 0;
    for (uint32_t k = 0; k < keys.count; k++) {
        if (key_incl_c[k] == 0) {
            while (next_edge < n_order && order[next_edge].callee == k)
                next_edge++;
            continue;
        }
        pstats_key key = {(uint32_t)keys.a[k], (uint32_t)keys.b[k], (int32_t)(keys.b[k] >> 32)};
        marshal_key(out, p, &key);
        marshal_tuple(out, 5);
        marshal_int(out, key_incl_c[k]);
        marshal_int(out, key_incl_c[k]);
        marshal_float(out, (double)key_self[k] * scale);
        marshal_float(out, (double)key_incl_w[k] * scale);
        buf_putc(out, '{');
        for (; next_edge < n_order && order[next_edge].callee == k; next_edge++) {
            uint32_t e = order[next_edge].id, c = order[next_edge].caller;
            pstats_key ck = {(uint32_t)keys.a[c], (uint32_t)keys.b[c], (int32_t)(keys.b[c] >> 32)};
            marshal_key(out, p, &ck);
            marshal_tuple(out, 4);
            marshal_int(out, edge_c[e]);
            marshal_int(out, edge_c[e]);
            marshal_float(out, (double)edge_self[e] * scale);
            marshal_float(out, (double)edge_w[e] * scale);
        }
        buf_putc(out, '0');
    }
    buf_putc(out, '0');
    rc = 0;
    goto done;
nomem:
    prof_error_nomem(err);
done:
    free(self_w);
    free(self_c);
    export_pairs_free(&keys);
    export_pairs_free(&edges);
    free(fn_key);
    free(node_edge);
    free(key_self);
    free(key_incl_w);
    free(key_incl_c);
    free(key_stamp);
    free(edge_self);
    free(edge_w);
    free(edge_c);
    free(edge_stamp);
    free(order);
    return rc;
}
