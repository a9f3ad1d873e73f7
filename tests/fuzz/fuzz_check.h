/* fuzz_check.h — invariants every fuzz target asserts on what a reader
 * produced. A reader that returns success with an inconsistent profile is as
 * much a bug as a crash, so these abort (libFuzzer records the input). */
#ifndef PYROMETER_FUZZ_CHECK_H
#define PYROMETER_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/calltree.h"
#include "analysis/profile.h"
#include "common/error.h"

#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Every id a profile holds points inside its own tables, and every stack
 * reaches a root in `depth` steps (so walking it terminates). */
static inline void fuzz_check_profile(const profile *p)
{
    FUZZ_ASSERT(p->string_count >= 1 && p->strings[0][0] == '\0');
    for (uint32_t i = 0; i < p->string_count; i++)
        FUZZ_ASSERT(strlen(p->strings[i]) <= p->string_lengths[i]);
    for (uint32_t i = 0; i < p->function_count; i++) {
        FUZZ_ASSERT(p->functions[i].name < p->string_count);
        FUZZ_ASSERT(p->functions[i].file < p->string_count);
        FUZZ_ASSERT(p->functions[i].kind <= PROF_FRAME_MARKER);
    }
    for (uint32_t i = 0; i < p->node_count; i++) {
        const prof_stack_node *n = &p->nodes[i];
        FUZZ_ASSERT(n->function < p->function_count);
        if (n->parent == PROF_NO_PARENT) {
            FUZZ_ASSERT(n->depth == 1);
        } else {
            FUZZ_ASSERT(n->parent < i); /* parents first: one forward pass folds them */
            FUZZ_ASSERT(n->depth == p->nodes[n->parent].depth + 1);
        }
    }
    for (size_t i = 0; i < p->sample_count; i++) {
        FUZZ_ASSERT(p->samples[i].stack < p->node_count);
        FUZZ_ASSERT(p->samples[i].thread < p->thread_count);
    }
    for (uint32_t i = 0; i < p->thread_count; i++)
        FUZZ_ASSERT(p->threads[i].name < p->string_count);
    for (uint32_t i = 0; i < p->meta_count; i++) {
        FUZZ_ASSERT(p->meta[i].key < p->string_count);
        FUZZ_ASSERT(p->meta[i].value < p->string_count);
    }
    FUZZ_ASSERT(memchr(p->interpreter, '\0', sizeof(p->interpreter)) != NULL);
    FUZZ_ASSERT(memchr(p->warning, '\0', sizeof(p->warning)) != NULL);
    FUZZ_ASSERT(p->value_unit != NULL);
}

/* The call tree of all threads and of each thread: totals add up. */
static inline void fuzz_check_calltree(const profile *p)
{
    calltree t;
    prof_error err;
    uint32_t threads = p->thread_count < 4 ? p->thread_count : 4;
    for (uint32_t th = 0; th <= threads; th++) {
        uint32_t which = th == threads ? PROF_NONE : th;
        if (calltree_build(&t, p, which, &err) < 0)
            continue; /* out of memory is not a finding */
        int64_t self_sum = 0;
        for (uint32_t i = 0; i < t.count; i++) {
            FUZZ_ASSERT(i == 0 || t.nodes[i].parent < i);
            self_sum += t.nodes[i].self;
        }
        FUZZ_ASSERT(t.nodes[0].total == self_sum);
        calltree_free(&t);
    }
}

/* A failed read leaves a one-line message. */
static inline void fuzz_check_error(const prof_error *err)
{
    FUZZ_ASSERT(memchr(err->message, '\0', sizeof(err->message)) != NULL);
    FUZZ_ASSERT(err->message[0] != '\0');
    FUZZ_ASSERT(strchr(err->message, '\n') == NULL);
}

#endif
