/* Unit tests for the profile model and the call tree. */
#include "check.h"

#include "analysis/calltree.h"
#include "analysis/profile.h"

static uint32_t fn(profile *p, const char *name)
{
    return profile_intern_function(p, profile_intern_cstring(p, name), profile_intern_cstring(p, "f.py"), 1,
                                   PROF_FRAME_PYTHON);
}

TEST(strings_are_interned)
{
    profile p;
    CHECK(profile_init(&p) == 0);
    CHECK_EQ_INT(profile_intern_cstring(&p, ""), 0);
    uint32_t a = profile_intern_cstring(&p, "alpha");
    CHECK_EQ_INT(profile_intern_string(&p, "alphabet", 5), a);
    CHECK(profile_intern_cstring(&p, "beta") != a);
    CHECK_EQ_STR(profile_string(&p, a), "alpha");
    profile_free(&p);
}

TEST(calltree_folds_lines_and_sums_totals)
{
    profile p;
    profile_init(&p);
    uint32_t main_fn = fn(&p, "main"), a = fn(&p, "a"), b = fn(&p, "b");
    uint32_t t = profile_intern_thread(&p, 7);
    uint32_t root = profile_intern_node(&p, PROF_NO_PARENT, main_fn, 0);
    uint32_t a1 = profile_intern_node(&p, root, a, 10);
    uint32_t a2 = profile_intern_node(&p, root, a, 11); /* same function, other line */
    uint32_t ab = profile_intern_node(&p, a1, b, 0);
    CHECK(a1 != a2);
    profile_add_sample(&p, a1, t, 1, -1);
    profile_add_sample(&p, a2, t, 1, -1);
    profile_add_sample(&p, ab, t, 1, -1);
    profile_add_sample(&p, root, t, 1, -1);
    calltree tree;
    prof_error err;
    CHECK(calltree_build(&tree, &p, PROF_NONE, &err) == 0);
    CHECK_EQ_INT(tree.count, 4); /* root, main, a, b */
    CHECK_EQ_INT(tree.nodes[0].total, 4);
    uint32_t main_node = tree.nodes[0].first_child;
    CHECK_EQ_INT(tree.nodes[main_node].total, 4);
    CHECK_EQ_INT(tree.nodes[main_node].self, 1);
    uint32_t a_node = tree.nodes[main_node].first_child;
    CHECK_EQ_INT(tree.nodes[a_node].function, a);
    CHECK_EQ_INT(tree.nodes[a_node].self, 2);
    CHECK_EQ_INT(tree.nodes[a_node].total, 3);
    calltree_free(&tree);
    profile_free(&p);
}

int main(void)
{
    RUN(strings_are_interned);
    RUN(calltree_folds_lines_and_sums_totals);
    return CHECK_SUMMARY();
}
