#include "analysis/calltree.h"

#include <stdlib.h>
#include <string.h>

struct child_key {
    const calltree *t;
    uint32_t parent, function;
};

static int child_eq(const void *ctx, uint32_t index)
{
    const struct child_key *k = ctx;
    return k->t->nodes[index].parent == k->parent && k->t->nodes[index].function == k->function;
}

/* The child of `parent` for `function`, created if new; PROF_NONE on ENOMEM. */
static uint32_t child_of(calltree *t, uint32_t parent, uint32_t function)
{
    struct child_key key = {t, parent, function};
    uint64_t hash = hash_mix(parent, function);
    uint32_t found = hashidx_find(&t->child_index, hash, child_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (t->count == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        calltree_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
        if (nodes == NULL)
            return PROF_NONE;
        t->nodes = nodes;
        t->cap = cap;
    }
    uint32_t id = t->count;
    if (hashidx_insert(&t->child_index, hash, id) < 0)
        return PROF_NONE;
    t->nodes[id] = (calltree_node){function, parent, PROF_NONE, PROF_NONE, PROF_NONE, 0, 0};
    t->count++;
    /* Append as the last child so children keep first-seen order. */
    calltree_node *p = &t->nodes[parent];
    if (p->first_child == PROF_NONE)
        p->first_child = id;
    else
        t->nodes[p->last_child].next_sibling = id;
    p->last_child = id;
    return id;
}

int calltree_build(calltree *t, const profile *p, uint32_t thread, prof_error *err)
{
    memset(t, 0, sizeof(*t));
    t->cap = 64;
    t->nodes = malloc(t->cap * sizeof(*t->nodes));
    t->stack_to_node = malloc((p->node_count ? p->node_count : 1) * sizeof(uint32_t));
    if (t->nodes == NULL || t->stack_to_node == NULL)
        goto nomem;
    t->nodes[0] = (calltree_node){PROF_NONE, PROF_NO_PARENT, PROF_NONE, PROF_NONE, PROF_NONE, 0, 0};
    t->count = 1;

    /* Stack nodes are created parent first, so one forward pass maps them. */
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        uint32_t parent = n->parent == PROF_NO_PARENT ? 0 : t->stack_to_node[n->parent];
        uint32_t id = child_of(t, parent, n->function);
        if (id == PROF_NONE)
            goto nomem;
        t->stack_to_node[i] = id;
    }
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (thread != PROF_NONE && s->thread != thread)
            continue;
        t->nodes[t->stack_to_node[s->stack]].self += s->weight;
    }
    for (uint32_t i = t->count; i-- > 0;) {
        t->nodes[i].total += t->nodes[i].self;
        if (i > 0)
            t->nodes[t->nodes[i].parent].total += t->nodes[i].total;
    }
    return 0;
nomem:
    calltree_free(t);
    return prof_error_nomem(err);
}

void calltree_free(calltree *t)
{
    free(t->nodes);
    free(t->stack_to_node);
    hashidx_free(&t->child_index);
    memset(t, 0, sizeof(*t));
}
