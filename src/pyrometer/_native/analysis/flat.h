/* flat.h — per-function totals: the "flat" view.
 *
 * A function's self weight is what its frames hold as the leaf; its total
 * counts every sample whose stack contains it once, however deep the
 * recursion (so totals never exceed 100%). */
#ifndef PYROMETER_FLAT_H
#define PYROMETER_FLAT_H

#include "analysis/profile.h"
#include "common/error.h"

/* Fills self[f] and total[f] for every function f (arrays of
 * p->function_count entries) over the samples of `thread` (PROF_NONE:
 * all). 0, or -1 with err set. */
int flat_function_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err);

/* Per stack node: self[n] is the weight of samples ending at node n;
 * total[n] is the weight of samples through n, but only where no ancestor
 * of n runs the same function at the same line (else 0), so summing total
 * over the nodes of one (function, line) counts each sample once.
 * Arrays of p->node_count entries. 0, or -1 with err set. */
int flat_line_totals(const profile *p, uint32_t thread, int64_t *self, int64_t *total, prof_error *err);

#endif
