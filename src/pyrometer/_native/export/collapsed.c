/* collapsed.c — folded stacks, one line per distinct call path:
 *   outer;middle;leaf <weight>
 * as flamegraph.pl, inferno and speedscope read them. Frames are function
 * labels (export_put_function_label) with ';' and line breaks replaced, since
 * those would split a frame or a line. Lines come in call-tree depth-first
 * order (children first-seen), which is deterministic for a given file. */
#include "export/export_formats.h"

#include <stdlib.h>

#include "analysis/calltree.h"

/* Every function's sanitized label, concatenated; label i is
 * text[start[i] .. start[i+1]). */
typedef struct labels {
    buf text;
    size_t *start;
} labels;

static int labels_build(labels *l, const profile *p)
{
    buf_init(&l->text);
    l->start = malloc(((size_t)p->function_count + 1) * sizeof(size_t));
    if (l->start == NULL)
        return -1;
    for (uint32_t i = 0; i < p->function_count; i++) {
        l->start[i] = l->text.len;
        export_put_function_label(&l->text, p, i);
        if (l->text.failed)
            return -1;
        for (size_t k = l->start[i]; k < l->text.len; k++) {
            char c = l->text.data[k];
            if (c == ';')
                l->text.data[k] = ':';
            else if (c == '\n' || c == '\r')
                l->text.data[k] = ' ';
        }
    }
    l->start[p->function_count] = l->text.len;
    return 0;
}

static void labels_free(labels *l)
{
    buf_free(&l->text);
    free(l->start);
}

int export_collapsed(const profile *p, const export_options *opts, buf *out, prof_error *err)
{
    calltree t;
    if (calltree_build(&t, p, opts->thread, err) < 0)
        return -1;
    labels l;
    buf path;
    buf_init(&path);
    /* Depth-first walk with an explicit stack: (node, length of the path
     * text before this node's frame). */
    uint32_t *todo = malloc((size_t)t.count * sizeof(uint32_t));
    size_t *prefix = malloc((size_t)t.count * sizeof(size_t));
    int rc = -1;
    if (labels_build(&l, p) < 0 || todo == NULL || prefix == NULL) {
        prof_error_nomem(err);
        goto done;
    }
    size_t top = 0;
    /* Push the root's children in reverse so the first child pops first. */
    for (uint32_t c = t.nodes[0].first_child; c != PROF_NONE; c = t.nodes[c].next_sibling)
        todo[top++] = c;
    for (size_t a = 0, b = top; b > a + 1; a++, b--) {
        uint32_t x = todo[a];
        todo[a] = todo[b - 1];
        todo[b - 1] = x;
    }
    for (size_t i = 0; i < top; i++)
        prefix[i] = 0;
    while (top > 0) {
        top--;
        uint32_t n = todo[top];
        const calltree_node *node = &t.nodes[n];
        if (node->total == 0)
            continue;
        path.len = prefix[top];
        if (path.len > 0)
            buf_putc(&path, ';');
        buf_append(&path, l.text.data + l.start[node->function],
                   l.start[node->function + 1] - l.start[node->function]);
        if (node->self != 0) {
            buf_append(out, path.data, path.len);
            buf_putc(out, ' ');
            buf_put_i64(out, node->self);
            buf_putc(out, '\n');
        }
        size_t first = top;
        for (uint32_t c = node->first_child; c != PROF_NONE; c = t.nodes[c].next_sibling) {
            todo[top] = c;
            prefix[top] = path.len;
            top++;
        }
        for (size_t a = first, b = top; b > a + 1; a++, b--) {
            uint32_t x = todo[a];
            todo[a] = todo[b - 1];
            todo[b - 1] = x;
        }
        if (path.failed || out->failed) {
            prof_error_nomem(err);
            goto done;
        }
    }
    rc = 0;
done:
    labels_free(&l);
    buf_free(&path);
    free(todo);
    free(prefix);
    calltree_free(&t);
    return rc;
}
