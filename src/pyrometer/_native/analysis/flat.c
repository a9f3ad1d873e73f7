#include "analysis/flat.h"

#include <stdlib.h>
#include <string.h>

int flat_function_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err)
{
    memset(self, 0, p->function_count * sizeof(*self));
    memset(total, 0, p->function_count * sizeof(*total));
    size_t n = p->node_count ? p->node_count : 1;
    int64_t *node_self = calloc(n, sizeof(int64_t));
    int64_t *node_total = calloc(n, sizeof(int64_t));
    /* outermost[i]: no ancestor of node i runs the same function, so its
     * subtree's weight counts once toward that function's total. */
    uint8_t *outermost = malloc(n);
    if (node_self == NULL || node_total == NULL || outermost == NULL) {
        free(node_self);
        free(node_total);
        free(outermost);
        return prof_error_nomem(err);
    }
    for (size_t i = 0; i < p->sample_count; i++) {
        if (thread == PROF_NONE || p->samples[i].thread == thread)
            node_self[p->samples[i].stack] += p->samples[i].weight;
    }
    for (uint32_t i = p->node_count; i-- > 0;) {
        node_total[i] += node_self[i];
        if (p->nodes[i].parent != PROF_NO_PARENT)
            node_total[p->nodes[i].parent] += node_total[i];
    }
    for (uint32_t i = 0; i < p->node_count; i++) {
        uint32_t f = p->nodes[i].function;
        int seen = 0;
        for (uint32_t a = p->nodes[i].parent; a != PROF_NO_PARENT && !seen; a = p->nodes[a].parent)
            seen = p->nodes[a].function == f;
        outermost[i] = !seen;
        self[f] += node_self[i];
        if (outermost[i])
            total[f] += node_total[i];
    }
    free(node_self);
    free(node_total);
    free(outermost);
    return 0;
}

int flat_line_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err)
{
    (void)err;
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
    /* Totals are complete; now keep only the outermost node of each
     * (function, line) on every path. */
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        for (uint32_t a = n->parent; a != PROF_NO_PARENT; a = p->nodes[a].parent) {
            if (p->nodes[a].function == n->function && p->nodes[a].line == n->line) {
                total[i] = 0;
                break;
            }
        }
    }
    return 0;
}
