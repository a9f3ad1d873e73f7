#include "analysis/flat.h"

#include <stdlib.h>
#include <string.h>

/* Per stack node: self = weight of samples ending there; total = weight of
 * samples through it. Nodes are created parent first, so one backward pass
 * pushes totals up. */
static void node_weights(const profile *p, uint32_t thread, int64_t *self, int64_t *total)
{
    memset(self, 0, p->node_count * sizeof(*self));
    memset(total, 0, p->node_count * sizeof(*total));
    for (size_t i = 0; i < p->sample_count; i++) {
        if (thread == PROF_NONE || p->samples[i].thread == thread)
            self[p->samples[i].stack] += p->samples[i].weight;
    }
    for (uint32_t i = p->node_count; i-- > 0;) {
        total[i] += self[i];
        if (p->nodes[i].parent != PROF_NO_PARENT)
            total[p->nodes[i].parent] += total[i];
    }
}

/* Nonzero when an ancestor of node i runs the same function (and, if
 * same_line, at the same line): its weight is already counted there. */
static int repeated_above(const profile *p, uint32_t i, int same_line)
{
    const prof_stack_node *n = &p->nodes[i];
    for (uint32_t a = n->parent; a != PROF_NO_PARENT; a = p->nodes[a].parent) {
        if (p->nodes[a].function == n->function && (!same_line || p->nodes[a].line == n->line))
            return 1;
    }
    return 0;
}

int flat_function_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err)
{
    memset(self, 0, p->function_count * sizeof(*self));
    memset(total, 0, p->function_count * sizeof(*total));
    size_t n = p->node_count ? p->node_count : 1;
    int64_t *node_self = malloc(n * sizeof(int64_t));
    int64_t *node_total = malloc(n * sizeof(int64_t));
    if (node_self == NULL || node_total == NULL) {
        free(node_self);
        free(node_total);
        return prof_error_nomem(err);
    }
    node_weights(p, thread, node_self, node_total);
    for (uint32_t i = 0; i < p->node_count; i++) {
        uint32_t f = p->nodes[i].function;
        self[f] += node_self[i];
        if (!repeated_above(p, i, 0))
            total[f] += node_total[i];
    }
    free(node_self);
    free(node_total);
    return 0;
}

int flat_line_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err)
{
    (void)err;
    node_weights(p, thread, self, total);
    /* Keep each node's total only where it is the outermost of its
     * (function, line) on the path. */
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (repeated_above(p, i, 1))
            total[i] = 0;
    }
    return 0;
}
