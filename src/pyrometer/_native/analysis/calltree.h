/* calltree.h — a profile's samples folded into a call tree by function.
 *
 * Stack nodes that differ only by line fold into one tree node, so this is
 * the tree users read (`show tree`, Stats.get_tree(), the flame graph,
 * callgrind's and pstats' caller/callee costs). Node 0 is a synthetic root
 * (function PROF_NONE) whose total is every sample's weight; its children
 * are the outermost frames. A child's index is always greater than its
 * parent's. */
#ifndef PYROMETER_CALLTREE_H
#define PYROMETER_CALLTREE_H

#include "analysis/profile.h"
#include "common/error.h"

typedef struct calltree_node {
    uint32_t function;      /* PROF_NONE for the root */
    uint32_t parent;        /* PROF_NO_PARENT for the root */
    uint32_t first_child;   /* PROF_NONE when a leaf; children in first-seen order */
    uint32_t next_sibling;  /* PROF_NONE for the last child */
    uint32_t last_child;    /* so appending a child stays O(1) on wide trees */
    int64_t self;           /* weight of samples whose leaf is this node */
    int64_t total;          /* self + children's totals */
} calltree_node;

typedef struct calltree {
    calltree_node *nodes;
    uint32_t count, cap;
    hashidx child_index;    /* (parent, function) -> node */
    uint32_t *stack_to_node; /* profile stack node id -> tree node id */
} calltree;

/* Folds the samples of one thread (thread index), or all when thread ==
 * PROF_NONE. 0, or -1 with err set. */
int calltree_build(calltree *t, const profile *p, uint32_t thread, prof_error *err);
void calltree_free(calltree *t);

#endif
