/* Unit tests for the flame graph viewer's JSON (export/viewer_data.h). */
#include "check.h"

#include <stdlib.h>

#include "analysis/profile.h"
#include "export/viewer_data.h"

static uint32_t fn(profile *p, const char *name, const char *file, int line)
{
    return profile_intern_function(p, profile_intern_cstring(p, name), profile_intern_cstring(p, file), line,
                                   PROF_FRAME_PYTHON);
}

/* Renders p and returns a malloc'd NUL-terminated copy of the JSON. */
static char *render(const profile *p)
{
    buf b;
    buf_init(&b);
    prof_error err;
    if (viewer_data_write(p, &b, &err) < 0) {
        buf_free(&b);
        return NULL;
    }
    buf_putc(&b, '\0');
    char *s = b.data;
    return s;
}

TEST(exact_document_for_a_small_profile)
{
    profile p;
    CHECK(profile_init(&p) == 0);
    fn(&p, "never_sampled", "x.py", 1); /* unused: must not be shipped */
    uint32_t m = fn(&p, "main", "m.py", 1), w = fn(&p, "work", "w.py", 5);
    uint32_t root = profile_intern_node(&p, PROF_NO_PARENT, m, 0);
    uint32_t leaf = profile_intern_node(&p, root, w, 7);
    uint32_t t1 = profile_intern_thread(&p, 18446744073709551615ull), t2 = profile_intern_thread(&p, 5);
    profile_add_sample(&p, leaf, t1, 3, -1);
    profile_add_sample(&p, root, t1, 1, -1);
    profile_add_sample(&p, leaf, t2, 2, -1);
    profile_add_sample(&p, leaf, t1, 1, -1);
    p.period_us = 1000;
    profile_set_meta(&p, "os", "linux", 5);
    char *json = render(&p);
    CHECK(json != NULL);
    CHECK_EQ_STR(json,
                 "{\"format\":\"pyrometer-viewer\",\"version\":1,\"value_unit\":\"samples\","
                 "\"interpreter\":\"cpython\",\"period_us\":1000,\"mode\":0,\"start_time_us\":0,"
                 "\"end_time_us\":0,\"sample_count\":4,\"total\":7,\"dropped\":0,\"warning\":\"\","
                 "\"strings\":[\"\",\"main\",\"m.py\",\"work\",\"w.py\",\"os\",\"linux\"],"
                 "\"functions\":[1,2,1,0,3,4,5,0],"
                 "\"nodes\":[0,0,0,1,1,7],"
                 "\"threads\":[[\"18446744073709551615\",0],[\"5\",0]],"
                 "\"meta\":[5,6],"
                 "\"weights\":[[1,1,1,4],[2,2]],\"timeline\":[]}");
    free(json);
    profile_free(&p);
}

TEST(names_are_escaped_for_script_and_utf8_is_repaired)
{
    profile p;
    profile_init(&p);
    uint32_t f = profile_intern_function(&p, profile_intern_cstring(&p, "</script><b>\xe2\x80\xa8&\xff"), 0, 0,
                                         PROF_FRAME_NATIVE);
    uint32_t n = profile_intern_node(&p, PROF_NO_PARENT, f, 0);
    profile_add_sample(&p, n, profile_intern_thread(&p, 1), 1, -1);
    char *json = render(&p);
    CHECK(json != NULL && strstr(json, "<") == NULL && strstr(json, "\xff") == NULL);
    CHECK(json != NULL &&
          strstr(json, "\"\\u003c/script\\u003e\\u003cb\\u003e\\u2028\\u0026\xef\xbf\xbd\"") != NULL);
    free(json);
    profile_free(&p);
}

TEST(long_timelines_keep_each_buckets_peak)
{
    profile p;
    profile_init(&p);
    size_t count = (size_t)VIEWER_MAX_TIMELINE_POINTS * 3;
    for (size_t i = 0; i < count; i++)
        profile_add_timeline_point(&p, (int64_t)i, -1, i == 12345 ? 999999 : (int64_t)(i % 3));
    char *json = render(&p);
    CHECK(json != NULL);
    const char *tl = json ? strstr(json, "\"timeline\":[") : NULL;
    CHECK(tl != NULL);
    size_t commas = 0;
    for (const char *c = tl; c && *c; c++)
        commas += *c == ',';
    CHECK_EQ_INT(commas, (size_t)VIEWER_MAX_TIMELINE_POINTS * 3 - 1);
    CHECK(tl && strstr(tl, ",12345,-1,999999,") != NULL);
    CHECK(tl && strstr(tl, "[2,-1,2,") != NULL); /* bucket 0..2 keeps its highest point */
    free(json);
    profile_free(&p);
}

int main(void)
{
    RUN(exact_document_for_a_small_profile);
    RUN(names_are_escaped_for_script_and_utf8_is_repaired);
    RUN(long_timelines_keep_each_buckets_peak);
    return CHECK_SUMMARY();
}
