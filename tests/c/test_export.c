/* Unit tests for the exporters (export/): small profiles built by hand
 * through profile_add_* calls, checked byte-exact where the format is text
 * and by decoding where it is binary (pstats marshal, pprof protobuf). */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis/profile.h"
#include "export/export.h"

/* A profile with two threads, a recursive function and a hostile name:
 *   thread 7: main>a x2, main>a>b x3, main>a>a x1 (recursion)
 *   thread 9: main>b x1, main x1, main>"we;ird\nname" x1
 * period 1000 µs. */
typedef struct fixture {
    profile p;
    uint32_t main_fn, a, b, weird;
} fixture;

static void fixture_init(fixture *f)
{
    profile *p = &f->p;
    profile_init(p);
    p->period_us = 1000;
    uint32_t file = profile_intern_cstring(p, "m.py");
    f->main_fn = profile_intern_function(p, profile_intern_cstring(p, "main"), file, 1, PROF_FRAME_PYTHON);
    f->a = profile_intern_function(p, profile_intern_cstring(p, "a"), file, 10, PROF_FRAME_PYTHON);
    f->b = profile_intern_function(p, profile_intern_cstring(p, "b"), file, 20, PROF_FRAME_PYTHON);
    f->weird = profile_intern_function(p, profile_intern_cstring(p, "we;ird\nname"), 0, 0, PROF_FRAME_NATIVE);
    uint32_t t7 = profile_intern_thread(p, 7), t9 = profile_intern_thread(p, 9);
    uint32_t root = profile_intern_node(p, PROF_NO_PARENT, f->main_fn, 2);
    uint32_t ma = profile_intern_node(p, root, f->a, 11);
    uint32_t mab = profile_intern_node(p, ma, f->b, 21);
    uint32_t maa = profile_intern_node(p, ma, f->a, 12);
    uint32_t mb = profile_intern_node(p, root, f->b, 22);
    uint32_t mw = profile_intern_node(p, root, f->weird, 0);
    profile_add_sample(p, ma, t7, 1, -1);
    profile_add_sample(p, mab, t7, 1, -1);
    profile_add_sample(p, mab, t7, 1, -1);
    profile_add_sample(p, ma, t7, 1, -1);
    profile_add_sample(p, mab, t7, 1, -1);
    profile_add_sample(p, maa, t7, 1, -1);
    profile_add_sample(p, mb, t9, 1, -1);
    profile_add_sample(p, root, t9, 1, -1);
    profile_add_sample(p, mw, t9, 1, -1);
}

static char *export_str(const profile *p, const char *format, uint32_t thread, size_t *len)
{
    export_options o;
    export_options_init(&o);
    o.thread = thread;
    buf out;
    buf_init(&out);
    prof_error err = {"", -1};
    if (export_profile(p, format, &o, &out, &err) < 0) {
        fprintf(stderr, "export %s failed: %s\n", format, err.message);
        buf_free(&out);
        return NULL;
    }
    buf_putc(&out, '\0');
    *len = out.len - 1;
    return out.data;
}

static int count_substr(const char *s, const char *needle)
{
    int n = 0;
    for (const char *q = strstr(s, needle); q != NULL; q = strstr(q + 1, needle))
        n++;
    return n;
}

TEST(collapsed_exact_text)
{
    fixture f;
    fixture_init(&f);
    size_t len;
    char *s = export_str(&f.p, "collapsed", PROF_NONE, &len);
    CHECK(s != NULL);
    if (s != NULL)
        CHECK_EQ_STR(s, "main (m.py:1) 1\n"
                        "main (m.py:1);a (m.py:10) 2\n"
                        "main (m.py:1);a (m.py:10);b (m.py:20) 3\n"
                        "main (m.py:1);a (m.py:10);a (m.py:10) 1\n"
                        "main (m.py:1);b (m.py:20) 1\n"
                        "main (m.py:1);we:ird name 1\n");
    free(s);
    s = export_str(&f.p, "collapsed", 1, &len);
    if (s != NULL)
        CHECK_EQ_STR(s, "main (m.py:1) 1\nmain (m.py:1);b (m.py:20) 1\nmain (m.py:1);we:ird name 1\n");
    free(s);
    profile_free(&f.p);
}

TEST(registry_rejects_bad_requests)
{
    fixture f;
    fixture_init(&f);
    export_options o;
    export_options_init(&o);
    buf out;
    buf_init(&out);
    prof_error err = {"", -1};
    CHECK(export_profile(&f.p, "svg", &o, &out, &err) < 0);
    CHECK(strstr(err.message, "svg") != NULL);
    o.thread = 2;
    CHECK(export_profile(&f.p, "collapsed", &o, &out, &err) < 0);
    CHECK(!export_format_known("nope"));
    int n = 0;
    for (const char *const *name = export_format_names; *name; name++, n++)
        CHECK(export_format_known(*name));
    CHECK_EQ_INT(n, 7);
    buf_free(&out);
    profile_free(&f.p);
}

/* ---- a decoder for the marshal subset pstats uses ----------------------- */

typedef struct mreader {
    const unsigned char *s;
    size_t len, pos;
    int bad;
} mreader;

static uint32_t m_u32(mreader *r)
{
    if (r->pos + 4 > r->len) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = r->s[r->pos] | (uint32_t)r->s[r->pos + 1] << 8 | (uint32_t)r->s[r->pos + 2] << 16 |
                 (uint32_t)r->s[r->pos + 3] << 24;
    r->pos += 4;
    return v;
}

static char m_type(mreader *r)
{
    if (r->pos >= r->len) {
        r->bad = 1;
        return 0;
    }
    return (char)r->s[r->pos++];
}

static long long m_int(mreader *r)
{
    if (m_type(r) != 'i')
        r->bad = 1;
    return (int32_t)m_u32(r);
}

static double m_float(mreader *r)
{
    double d = 0;
    if (m_type(r) != 'g' || r->pos + 8 > r->len) {
        r->bad = 1;
        return 0;
    }
    memcpy(&d, r->s + r->pos, 8);
    r->pos += 8;
    return d;
}

/* Reads a str into out (NUL-terminated, truncated to cap). */
static void m_str(mreader *r, char *out, size_t cap)
{
    if (m_type(r) != 'u') {
        r->bad = 1;
        return;
    }
    uint32_t n = m_u32(r);
    if (r->pos + n > r->len) {
        r->bad = 1;
        return;
    }
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(out, r->s + r->pos, k);
    out[k] = '\0';
    r->pos += n;
}

static void m_key(mreader *r, char *file, int *line, char *name)
{
    if (m_type(r) != '(' || m_u32(r) != 3)
        r->bad = 1;
    m_str(r, file, 64);
    *line = (int)m_int(r);
    m_str(r, name, 64);
}

TEST(pstats_totals_and_callers)
{
    fixture f;
    fixture_init(&f);
    size_t len;
    char *s = export_str(&f.p, "pstats", PROF_NONE, &len);
    CHECK(s != NULL);
    mreader r = {(const unsigned char *)s, len, 0, 0};
    CHECK(m_type(&r) == '{');
    double total_tt = 0;
    int entries = 0, found_a = 0, found_b = 0;
    while (!r.bad && r.pos < len && r.s[r.pos] != '0') {
        char file[64] = "", name[64] = "";
        int line = 0;
        m_key(&r, file, &line, name);
        if (m_type(&r) != '(' || m_u32(&r) != 5)
            r.bad = 1;
        long long cc = m_int(&r), nc = m_int(&r);
        double tt = m_float(&r), ct = m_float(&r);
        total_tt += tt;
        entries++;
        CHECK(m_type(&r) == '{');
        int callers = 0;
        while (!r.bad && r.s[r.pos] != '0') {
            char cfile[64], cname[64];
            int cline;
            m_key(&r, cfile, &cline, cname);
            if (m_type(&r) != '(' || m_u32(&r) != 4)
                r.bad = 1;
            long long enc = m_int(&r), ecc = m_int(&r);
            double ett = m_float(&r), ect = m_float(&r);
            callers++;
            if (strcmp(name, "b") == 0 && strcmp(cname, "a") == 0) {
                CHECK_EQ_INT(enc, 3);
                CHECK_EQ_INT(ecc, 3);
                CHECK(ett > 0.0029 && ett < 0.0031);
                CHECK(ect > 0.0029 && ect < 0.0031);
            }
            if (strcmp(name, "a") == 0 && strcmp(cname, "a") == 0) {
                CHECK_EQ_INT(enc, 1); /* the recursive edge */
                CHECK(ect > 0.0009 && ect < 0.0011);
            }
        }
        r.pos++; /* end of callers dict */
        if (strcmp(name, "a") == 0) {
            found_a = 1;
            CHECK_EQ_STR(file, "m.py");
            CHECK_EQ_INT(line, 10);
            /* 6 samples have a on the stack; the recursive one counts once. */
            CHECK_EQ_INT(nc, 6);
            CHECK_EQ_INT(cc, 6);
            CHECK(tt > 0.0029 && tt < 0.0031);
            CHECK(ct > 0.0059 && ct < 0.0061);
            CHECK_EQ_INT(callers, 2); /* main and a itself */
        }
        if (strcmp(name, "b") == 0) {
            found_b = 1;
            CHECK_EQ_INT(nc, 4);
            CHECK_EQ_INT(callers, 2); /* a and main */
        }
        if (strcmp(name, "we;ird\nname") == 0) {
            CHECK_EQ_STR(file, "~"); /* no file: cProfile's builtin key */
            CHECK_EQ_INT(line, 0);
        }
    }
    CHECK(!r.bad);
    CHECK(found_a && found_b);
    CHECK_EQ_INT(entries, 4);
    CHECK(total_tt > 0.0089 && total_tt < 0.0091);
    CHECK_EQ_INT(r.pos + 1, len); /* the dict's end marker is the last byte */
    free(s);
    profile_free(&f.p);
}

/* ---- a decoder for the protobuf subset pprof uses ----------------------- */

static uint64_t pb_varint(const unsigned char *s, size_t len, size_t *pos, int *bad)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) {
            *bad = 1;
            return 0;
        }
        unsigned char c = s[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    *bad = 1;
    return 0;
}

TEST(pprof_decodes)
{
    fixture f;
    fixture_init(&f);
    size_t len;
    char *gz = export_str(&f.p, "pprof", PROF_NONE, &len);
    CHECK(gz != NULL && len > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    unsigned char *raw = malloc(1 << 16);
    z_stream z;
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, 15 + 16);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)len;
    z.next_out = raw;
    z.avail_out = 1 << 16;
    CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
    size_t n = z.total_out;
    inflateEnd(&z);
    int bad = 0, samples = 0, sample_types = 0, strings = 0, first_string_empty = 0;
    long long count_sum = 0, ns_sum = 0;
    size_t pos = 0;
    while (!bad && pos < n) {
        uint64_t key = pb_varint(raw, n, &pos, &bad);
        if ((key & 7) == 0) {
            pb_varint(raw, n, &pos, &bad);
            continue;
        }
        CHECK_EQ_INT(key & 7, 2);
        uint64_t l = pb_varint(raw, n, &pos, &bad);
        size_t end = pos + l;
        if (end > n) {
            bad = 1;
            break;
        }
        switch (key >> 3) {
        case 1: sample_types++; break;
        case 2: {
            samples++;
            while (pos < end) {
                uint64_t k = pb_varint(raw, end, &pos, &bad);
                uint64_t sl = pb_varint(raw, end, &pos, &bad);
                size_t send = pos + sl;
                if ((k >> 3) == 2) { /* packed values: count, nanoseconds */
                    count_sum += (long long)pb_varint(raw, send, &pos, &bad);
                    ns_sum += (long long)pb_varint(raw, send, &pos, &bad);
                }
                pos = send;
            }
            break;
        }
        case 6:
            if (strings++ == 0)
                first_string_empty = l == 0;
            break;
        }
        pos = end;
    }
    CHECK(!bad);
    CHECK_EQ_INT(sample_types, 2);
    CHECK_EQ_INT(samples, 6); /* distinct (stack, thread) pairs */
    CHECK_EQ_INT(count_sum, 9);
    CHECK_EQ_INT(ns_sum, 9 * 1000000LL);
    CHECK(first_string_empty);
    free(raw);
    free(gz);
    profile_free(&f.p);
}

TEST(callgrind_costs_and_calls)
{
    fixture f;
    fixture_init(&f);
    size_t len;
    char *s = export_str(&f.p, "callgrind", PROF_NONE, &len);
    CHECK(s != NULL);
    CHECK(strstr(s, "events: Samples\n") != NULL);
    CHECK(strstr(s, "summary: 9\n") != NULL);
    CHECK(strstr(s, "totals: 9\n") != NULL);
    /* Every name defined once, then referenced by id. */
    CHECK_EQ_INT(count_substr(s, ") main\n"), 1);
    CHECK_EQ_INT(count_substr(s, ") a\n"), 1);
    CHECK_EQ_INT(count_substr(s, ") b\n"), 1);
    CHECK_EQ_INT(count_substr(s, ") m.py\n"), 1);
    CHECK(strstr(s, "we;ird name") != NULL); /* the line break is gone */
    /* main calls a at line 2: 6 samples, inclusive 6 (recursion counted once). */
    CHECK(strstr(s, "calls=6 10\n2 6\n") != NULL);
    /* a calls b at line 11 (3 samples) and a at line 11 (1 sample). */
    CHECK(strstr(s, "calls=3 20\n11 3\n") != NULL);
    CHECK(strstr(s, "calls=1 10\n11 1\n") != NULL);
    free(s);
    profile_free(&f.p);
}

TEST(json_formats_have_every_thread_and_balanced_events)
{
    fixture f;
    fixture_init(&f);
    size_t len;
    char *s = export_str(&f.p, "speedscope", PROF_NONE, &len);
    CHECK(s != NULL);
    CHECK_EQ_INT(count_substr(s, "\"type\":\"sampled\""), 2);
    CHECK(strstr(s, "\"unit\":\"microseconds\"") != NULL);
    /* thread 7: [0,1] then [0,1,2] x2 then [0,1] then [0,1,2] then [0,1,1]; consecutive repeats merge. */
    CHECK(strstr(s, "\"samples\":[[0,1],[0,1,2],[0,1],[0,1,2],[0,1,1]],\"weights\":[1000,2000,1000,1000,1000]") !=
          NULL);
    CHECK(strstr(s, "we;ird\\nname") != NULL);
    free(s);
    s = export_str(&f.p, "chrome", PROF_NONE, &len);
    CHECK(s != NULL);
    CHECK_EQ_INT(count_substr(s, "\"ph\":\"B\""), count_substr(s, "\"ph\":\"E\""));
    CHECK_EQ_INT(count_substr(s, "\"thread_name\""), 2);
    CHECK(strstr(s, "\"ts\":9000") == NULL);   /* per-thread time: thread 7 ends at 6 ms */
    CHECK(strstr(s, "\"ts\":6000") != NULL);
    free(s);
    s = export_str(&f.p, "gecko", 0, &len);
    CHECK(s != NULL);
    CHECK(strstr(s, "\"version\":36") != NULL);
    CHECK(strstr(s, "\"presymbolicated\":true") != NULL);
    CHECK_EQ_INT(count_substr(s, "\"stackTable\""), 1);
    /* thread 7 uses main, main>a, main>a>b, main>a>a: four stack rows. */
    CHECK(strstr(s, "\"data\":[[null,0],[0,1],[1,2],[1,3]]") != NULL);
    CHECK(strstr(s, "\"interval\":1.000") != NULL);
    free(s);
    profile_free(&f.p);
}

TEST(memory_profiles_use_bytes)
{
    profile p;
    profile_init(&p);
    p.value_unit = "bytes";
    uint32_t fn = profile_intern_function(&p, profile_intern_cstring(&p, "alloc"), profile_intern_cstring(&p, "x.py"),
                                          3, PROF_FRAME_PYTHON);
    uint32_t t = profile_intern_thread(&p, 1);
    uint32_t n = profile_intern_node(&p, PROF_NO_PARENT, fn, 4);
    profile_add_sample(&p, n, t, 4096, -1);
    profile_add_sample(&p, n, t, 5000000000LL, -1); /* past 32 bits */
    size_t len;
    char *s = export_str(&p, "collapsed", PROF_NONE, &len);
    if (s != NULL)
        CHECK_EQ_STR(s, "alloc (x.py:3) 5000004096\n");
    free(s);
    s = export_str(&p, "callgrind", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "events: Bytes\n") != NULL && strstr(s, "4 5000004096\n") != NULL);
    free(s);
    s = export_str(&p, "speedscope", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "\"unit\":\"bytes\"") != NULL);
    free(s);
    s = export_str(&p, "pstats", PROF_NONE, &len);
    CHECK(s != NULL && len > 0);
    free(s);
    /* Gecko's samples table drops weights: bytes ride on allocation markers. */
    s = export_str(&p, "gecko", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "\"type\":\"Native allocation\",\"size\":5000000000,") != NULL);
    CHECK(s != NULL && strstr(s, "\"stringTable\":[\"Native allocation\",") != NULL);
    free(s);
    s = export_str(&p, "pprof", PROF_NONE, &len);
    CHECK(s != NULL && len > 0);
    free(s);
    profile_free(&p);
}

TEST(weighted_cpu_samples_count_every_period)
{
    /* A CPU sample of weight 3 stands for three sampling periods. */
    profile p;
    profile_init(&p);
    p.period_us = 500;
    uint32_t fn = profile_intern_function(&p, profile_intern_cstring(&p, "spin"), profile_intern_cstring(&p, "s.py"),
                                          1, PROF_FRAME_PYTHON);
    uint32_t t = profile_intern_thread(&p, 5);
    uint32_t n = profile_intern_node(&p, PROF_NO_PARENT, fn, 2);
    profile_add_sample(&p, n, t, 3, -1);
    profile_add_sample(&p, n, t, 1, -1);
    size_t len;
    char *s = export_str(&p, "gecko", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "\"data\":[[0,0.000,0],[0,0.500,0],[0,1.000,0],[0,1.500,0]]") != NULL);
    free(s);
    s = export_str(&p, "chrome", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "\"ph\":\"E\",\"name\":\"spin (s.py:1)\",\"ts\":2000,") != NULL);
    free(s);
    s = export_str(&p, "speedscope", PROF_NONE, &len);
    CHECK(s != NULL && strstr(s, "\"weights\":[2000],\"endValue\":2000") != NULL);
    free(s);
    s = export_str(&p, "collapsed", PROF_NONE, &len);
    if (s != NULL)
        CHECK_EQ_STR(s, "spin (s.py:1) 4\n");
    free(s);
    profile_free(&p);
}

TEST(empty_profile_exports)
{
    profile p;
    profile_init(&p);
    for (const char *const *name = export_format_names; *name; name++) {
        size_t len;
        char *s = export_str(&p, *name, PROF_NONE, &len);
        CHECK(s != NULL);
        free(s);
    }
    profile_free(&p);
}

int main(void)
{
    RUN(collapsed_exact_text);
    RUN(registry_rejects_bad_requests);
    RUN(pstats_totals_and_callers);
    RUN(pprof_decodes);
    RUN(callgrind_costs_and_calls);
    RUN(json_formats_have_every_thread_and_balanced_events);
    RUN(memory_profiles_use_bytes);
    RUN(weighted_cpu_samples_count_every_period);
    RUN(empty_profile_exports);
    return CHECK_SUMMARY();
}
