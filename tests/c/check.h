/* check.h — a minimal unit-test harness for the C core. Each test file
 * defines tests with TEST(name), lists them in main() with RUN(name), and
 * ends with CHECK_SUMMARY(), which prints "N passed, N failed". */
#ifndef PYROMETER_CHECK_H
#define PYROMETER_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_in_test;
static int check_passed, check_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures_in_test++;                                            \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long a_ = (long long)(a), b_ = (long long)(b);                      \
        if (a_ != b_) {                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",    \
                    __FILE__, __LINE__, #a, #b, a_, b_);                         \
            check_failures_in_test++;                                            \
        }                                                                        \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                       \
    do {                                                                         \
        const char *a_ = (a), *b_ = (b);                                         \
        if (strcmp(a_, b_) != 0) {                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                         \
            check_failures_in_test++;                                            \
        }                                                                        \
    } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                \
    do {                                                                         \
        check_failures_in_test = 0;                                              \
        test_##name();                                                           \
        if (check_failures_in_test) {                                            \
            check_failed++;                                                      \
            fprintf(stderr, "FAIL %s\n", #name);                                 \
        } else {                                                                 \
            check_passed++;                                                      \
        }                                                                        \
    } while (0)
#define CHECK_SUMMARY()                                                          \
    (printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed), \
     check_failed ? 1 : 0)

#endif
